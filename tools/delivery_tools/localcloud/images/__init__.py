"""The images the local cloud needs in docker: a Python base, busybox for moto, the Lambda runtime image."""
