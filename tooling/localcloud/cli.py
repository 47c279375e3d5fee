"""`python -m tooling local ...`: the sub-commands of the account-free local cloud."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from tooling.localcloud.base_image import PYTHON_BASE_IMAGE, ensure_python_base_image
from tooling.localcloud.errors import LocalCloudError
from tooling.localcloud.steps import StepRunner

Handler = Callable[[argparse.Namespace], int]


def _guarded(action: Callable[[argparse.Namespace], None]) -> Handler:
    """Turn LocalCloudError into a one-paragraph message and exit status 1 instead of a traceback."""

    def handler(args: argparse.Namespace) -> int:
        try:
            action(args)
        except LocalCloudError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0

    return handler


def _base_image(_: argparse.Namespace) -> None:
    steps = StepRunner(out=sys.stderr)
    with steps.step(f"Python base image {PYTHON_BASE_IMAGE}"):
        made = ensure_python_base_image()
        steps.note("made from Debian packages" if made else "already present, reused")
    print(PYTHON_BASE_IMAGE)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `local` and its sub-commands to the `python -m tooling` parser."""
    local = subparsers.add_parser("local", help="the account-free local cloud (no AWS account needed)")
    commands = local.add_subparsers(dest="local_command", required=True, metavar="COMMAND")
    actions: dict[str, tuple[str, Callable[[argparse.Namespace], None]]] = {
        "base-image": (f"make or reuse the image {PYTHON_BASE_IMAGE} from Debian packages", _base_image),
    }
    for name, (help_text, action) in actions.items():
        commands.add_parser(name, help=help_text).set_defaults(handler=_guarded(action))
