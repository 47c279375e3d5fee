"""`pr-review`: a Markdown review of stack changes; exit 1 if a dangerous change is blocked."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from delivery_tools.common.cdk import use_pinned_node
from delivery_tools.common.errors import ToolError
from delivery_tools.prreview.compare import review_against_deployed, review_against_revision
from delivery_tools.prreview.report import ALLOW_FILE, render_markdown
from delivery_tools.prreview.review import read_allow_file
from delivery_tools.prreview.synth import SynthError

EXIT_BLOCKED = 1
EXIT_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pr-review", description=__doc__)
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
    return parser


def _project_dir() -> Path:
    top = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not top:
        raise SynthError("run pr-review inside the project's git clone")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Build the review, print it (and write --output), and return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        project_dir = _project_dir()
        use_pinned_node(project_dir)
        allow = _allow_entries(args, project_dir)
        if args.deployed:
            review = review_against_deployed(project_dir, allow, args.context, args.env)
        else:
            review = review_against_revision(project_dir, args.base, allow, args.context, args.env)
    except ToolError as error:
        print(f"pr-review: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("pr-review: interrupted: nothing was changed; run it again", file=sys.stderr)
        return 130
    markdown = render_markdown(review)
    sys.stdout.write(markdown)
    if args.output:
        args.output.write_text(markdown, encoding="utf-8")
    if review.blocked:
        names = ", ".join(item.resource_id for item in review.blocked)
        print(f"pr-review: blocked: stateful resources replaced or deleted: {names}", file=sys.stderr)
        return EXIT_BLOCKED
    return 0
