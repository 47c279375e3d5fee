"""The image moto runs `provided.*` Lambda functions in: a base image, the Runtime API shim, the local CA."""
