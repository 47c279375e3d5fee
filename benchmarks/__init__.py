"""Benchmarks of this project; each module has a `main() -> int`. `python -m benchmarks` runs them all."""
