"""`delivery-bench`: the project's benchmarks, one at a time (never in parallel: 2 cores)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from delivery_tools.benchmarks import image_sizes, local_deploy, serving, synth

BENCHMARKS: dict[str, Callable[[list[str] | None], int]] = {
    "synth": synth.main,
    "local-deploy": local_deploy.main,
    "image-sizes": image_sizes.main,
    "serving": serving.main,
}


def main(argv: Sequence[str] | None = None) -> int:
    """`delivery-bench` runs every benchmark; `delivery-bench NAME [ARGS]` runs one with its own arguments."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in ("-h", "--help"):
        print(f"usage: delivery-bench [{'|'.join(BENCHMARKS)} [ARGS...]]\n\n{main.__doc__}")
        return 0
    if arguments:
        name, *rest = arguments
        if name not in BENCHMARKS:
            print(f"delivery-bench: unknown benchmark {name!r}; choose one of {', '.join(BENCHMARKS)}", file=sys.stderr)
            return 2
        return BENCHMARKS[name](rest)
    status = 0
    for name, benchmark in BENCHMARKS.items():
        print(f"\n=== {name} ===", flush=True)
        status |= benchmark([])
    return status
