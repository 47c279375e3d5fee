"""The `python -m tooling` command line.

Each sub-package of `tooling` that has a `cli` module with a `register(subparsers)` function adds its own
sub-command, so a new tool plugs in by adding that module and nothing here changes.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Sequence

import tooling


def _register_subcommands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Let every `tooling.<package>.cli` module add its sub-command (sorted, so help is stable)."""
    for module in sorted(pkgutil.iter_modules(tooling.__path__), key=lambda info: info.name):
        if not module.ispkg:
            continue
        try:
            cli_module = importlib.import_module(f"tooling.{module.name}.cli")
        except ModuleNotFoundError as error:
            if error.name != f"tooling.{module.name}.cli":
                raise
            continue
        cli_module.register(subparsers)


def build_parser() -> argparse.ArgumentParser:
    """The parser with every registered sub-command."""
    parser = argparse.ArgumentParser(prog="python -m tooling", description=tooling.__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _register_subcommands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and run the chosen sub-command; its return value is the exit status."""
    args = build_parser().parse_args(argv)
    handler = args.handler
    status: int = handler(args)
    return status
