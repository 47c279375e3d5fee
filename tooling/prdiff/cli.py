"""The `pr-diff` sub-command: a Markdown review of stack changes; exit 1 if a dangerous change is blocked."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from tooling.prdiff.compare import review_against_deployed, review_against_revision
from tooling.prdiff.deployed import DeployedStackError
from tooling.prdiff.engine import DiffEngineError
from tooling.prdiff.report import ALLOW_FILE, render_markdown
from tooling.prdiff.review import read_allow_file
from tooling.prdiff.synth import SynthError

EXIT_BLOCKED = 1
EXIT_ERROR = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `pr-diff` to `python -m tooling`."""
    parser = subparsers.add_parser(
        "pr-diff",
        help="Markdown review of stack changes (no AWS credentials needed with --base)",
        description=__doc__,
    )
    side = parser.add_mutually_exclusive_group(required=True)
    side.add_argument("--base", metavar="REV", help="git revision to compare the working tree with")
    side.add_argument(
        "--deployed",
        action="store_true",
        help="compare with the deployed stacks instead (AWS credentials or AWS_ENDPOINT_URL needed)",
    )
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="ENV/Stack/LogicalId",
        help="accept the replacement or removal of this stateful resource (repeatable)",
    )
    parser.add_argument(
        "--allow-file",
        type=Path,
        default=None,
        help=f"file of allow-list entries, one a line (default: {ALLOW_FILE} in the project, if present)",
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="ENV", help="only review this environment (repeatable)"
    )
    parser.add_argument(
        "-c", "--context", action="append", default=[], metavar="KEY=VALUE", help="CDK context for both sides"
    )
    parser.add_argument("--output", type=Path, help="also write the Markdown report to this file")
    parser.set_defaults(handler=run)


def _project_dir() -> Path:
    top = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not top:
        raise SynthError("run pr-diff inside the project's git clone")
    return Path(top)


def _allow_entries(args: argparse.Namespace, project_dir: Path) -> list[str]:
    allow_file: Path | None = args.allow_file
    if allow_file is None:
        default = project_dir / ALLOW_FILE
        allow_file = default if default.is_file() else None
    elif not allow_file.is_file():
        raise SynthError(f"--allow-file {allow_file} does not exist")
    from_file = read_allow_file(allow_file) if allow_file else []
    return [*args.allow, *from_file]


def run(args: argparse.Namespace) -> int:
    """Build the review, print it (and write --output), and return the exit status."""
    try:
        project_dir = _project_dir()
        allow = _allow_entries(args, project_dir)
        if args.deployed:
            review = review_against_deployed(project_dir, allow, args.context, args.env)
        else:
            review = review_against_revision(project_dir, args.base, allow, args.context, args.env)
    except (SynthError, DiffEngineError, DeployedStackError) as error:
        print(f"pr-diff: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    markdown = render_markdown(review)
    sys.stdout.write(markdown)
    if args.output:
        args.output.write_text(markdown, encoding="utf-8")
    if review.blocked:
        names = ", ".join(item.resource_id for item in review.blocked)
        print(f"pr-diff: blocked: stateful resources replaced or deleted: {names}", file=sys.stderr)
        return EXIT_BLOCKED
    return 0
