"""`python -m tooling local ...`: the sub-commands of the account-free local cloud."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from tooling.localcloud import deploy, docker_engine, teardown
from tooling.localcloud.base_image import PYTHON_BASE_IMAGE, ensure_python_base_image
from tooling.localcloud.errors import LocalCloudError
from tooling.localcloud.state import current_state, find_project_root
from tooling.localcloud.steps import StepRunner
from tooling.localcloud.system_deps import ensure_dependencies

Action = Callable[[StepRunner], None]


def _run(action: Action, *, progress_on_stderr: bool) -> Callable[[argparse.Namespace], int]:
    """Run `action` with step progress; a LocalCloudError becomes a message and exit status 1.

    Commands whose stdout is a result (an image name) show their progress on stderr.
    """

    def handler(_: argparse.Namespace) -> int:
        steps = StepRunner(out=sys.stderr if progress_on_stderr else sys.stdout)
        try:
            action(steps)
        except LocalCloudError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0

    return handler


def _install_deps(steps: StepRunner) -> None:
    with steps.step("System packages and moto"):
        installed = ensure_dependencies(find_project_root())
        steps.note(f"installed {', '.join(installed)}" if installed else "everything already installed")


def _engine(steps: StepRunner) -> None:
    state = current_state()
    state.prepare()
    with steps.step("Docker engine for this machine"):
        steps.note(docker_engine.ensure_engine(state, docker_engine.MACHINE_SERVICE))


def _base_image(steps: StepRunner) -> None:
    with steps.step(f"Python base image {PYTHON_BASE_IMAGE}"):
        made = ensure_python_base_image()
        steps.note("made from Debian packages" if made else "already present, reused")
    print(PYTHON_BASE_IMAGE)


def _deploy(steps: StepRunner) -> None:
    _install_deps(steps)
    summary = deploy.deploy(current_state(), steps)
    print()
    print(f"Deployed {summary['image_uri']}")
    print(f"  digest     {summary['image_digest']}")
    print(f"  copied     {'yes (new tag)' if summary['copied'] else 'no (tag already there: no-op redeploy)'}")
    print(f"  tags       {', '.join(summary['tags'])}")
    print(f"  prediction setosa sample -> {summary['prediction']}")
    print(f"  AWS API    {summary['endpoint_url']} (moto, fake credentials; no AWS account touched)")
    print(f"  total      {summary['seconds']} s")
    print(json.dumps(summary, separators=(",", ":")))


def _diff(steps: StepRunner) -> None:
    deploy.diff(current_state(), steps)


def _destroy(steps: StepRunner) -> None:
    deploy.destroy(current_state(), steps)


def _down(steps: StepRunner) -> None:
    teardown.take_down(current_state(), steps)


PRINTS_A_RESULT = frozenset({"base-image"})
_BASE_IMAGE_HELP = f"make or reuse the image {PYTHON_BASE_IMAGE} from Debian packages and print its name"
COMMANDS: dict[str, tuple[str, Action]] = {
    "install-deps": (
        "install the Debian packages and moto the local cloud needs (only what is missing)",
        _install_deps,
    ),
    "engine": ("start dockerd if no engine answers, for the whole machine (`local down` keeps it)", _engine),
    "base-image": (_BASE_IMAGE_HELP, _base_image),
    "deploy": ("full cdk deploy of 'local/*' to the local cloud, verified; last line is a JSON summary", _deploy),
    "diff": ("cdk diff of 'local/*' against the running local cloud", _diff),
    "destroy": ("cdk destroy of 'local/*'; the local repository is gone afterwards", _destroy),
    "down": ("stop every process the local cloud started and undo its machine changes", _down),
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `local` and its sub-commands to the `python -m tooling` parser."""
    local = subparsers.add_parser("local", help="the account-free local cloud (no AWS account needed)")
    commands = local.add_subparsers(dest="local_command", required=True, metavar="COMMAND")
    for name, (help_text, action) in COMMANDS.items():
        handler = _run(action, progress_on_stderr=name in PRINTS_A_RESULT)
        commands.add_parser(name, help=help_text, description=help_text).set_defaults(handler=handler)
