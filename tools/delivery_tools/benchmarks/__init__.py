"""Benchmarks of synthesis, local-cloud deploys and model serving (`delivery-bench`)."""
