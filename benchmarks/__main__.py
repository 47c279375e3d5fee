"""Run every benchmark module in this package, one after the other (never in parallel: 2 cores)."""

import importlib
import pkgutil
import sys

import benchmarks


def main() -> int:
    status = 0
    for module in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda info: info.name):
        if module.ispkg:
            continue
        benchmark = importlib.import_module(f"benchmarks.{module.name}")
        if hasattr(benchmark, "main"):
            print(f"\n=== benchmarks.{module.name} ===", flush=True)
            status |= benchmark.main()
    return status


if __name__ == "__main__":
    sys.exit(main())
