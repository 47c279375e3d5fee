"""Synthesize the working tree and a base revision with the project's pinned CDK CLI, offline."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from delivery_tools.common.cdk import cdk_cli_environment
from delivery_tools.common.errors import ToolError
from delivery_tools.common.project import SHARED_INSTALLS

# Cached context lookups: the base revision must see the same values as the working tree.
_CONTEXT_CACHE = "cdk.context.json"
_ERROR_TAIL_LINES = 25


class SynthError(ToolError):
    """A synthesis or checkout step failed; the message says which and why."""


def _run(command: Sequence[str], cwd: Path, what: str) -> str:
    result = subprocess.run(
        command,
        cwd=cwd,
        env=cdk_cli_environment(cwd),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stderr or result.stdout).splitlines()
        tail = "\n".join(output[-_ERROR_TAIL_LINES:])
        raise SynthError(f"{what} failed (exit {result.returncode}):\n{tail}")
    return result.stdout


def synthesize(project_dir: Path, cli: Path, out_dir: Path, context: Sequence[str], label: str) -> Path:
    """Run `cdk synth --quiet -o out_dir` in `project_dir` with the given `-c KEY=VALUE` context."""
    command = [str(cli), "synth", "--quiet", "--no-notices", "-o", str(out_dir)]
    for entry in context:
        command += ["-c", entry]
    _run(command, project_dir, f"cdk synth of {label}")
    return out_dir


def resolve_revision(project_dir: Path, revision: str) -> str:
    """The commit `revision` names, or a clear error if this clone does not have it."""
    try:
        return _run(
            ["git", "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
            project_dir,
            "git rev-parse",
        ).strip()
    except SynthError:
        raise SynthError(
            f"base revision {revision!r} is not a commit in {project_dir}"
            " (fetch it first, e.g. `git fetch origin main`)"
        ) from None


@contextmanager
def base_checkout(project_dir: Path, commit: str, scratch_dir: Path) -> Iterator[Path]:
    """A detached `git worktree` of `commit` that shares the project's installs and context cache."""
    checkout = scratch_dir / "base"
    _run(["git", "worktree", "add", "--detach", str(checkout), commit], project_dir, "git worktree add")
    try:
        for name in SHARED_INSTALLS:
            if (project_dir / name).exists() and not (checkout / name).exists():
                (checkout / name).symlink_to((project_dir / name).resolve(), target_is_directory=True)
        if (project_dir / _CONTEXT_CACHE).is_file():
            shutil.copyfile(project_dir / _CONTEXT_CACHE, checkout / _CONTEXT_CACHE)
        yield checkout
    finally:
        _run(["git", "worktree", "remove", "--force", str(checkout)], project_dir, "git worktree remove")
