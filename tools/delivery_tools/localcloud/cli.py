"""`local-cloud`: the account-free local cloud of this machine, shared by every checkout."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from delivery_tools.common.base_images import LOCAL_PYTHON_BASE_IMAGE
from delivery_tools.common.cdk import use_pinned_node
from delivery_tools.common.errors import ToolError
from delivery_tools.common.project import find_project_root
from delivery_tools.localcloud.deploy import commands
from delivery_tools.localcloud.images.python_base import ensure_python_base_image
from delivery_tools.localcloud.services import docker_engine, teardown
from delivery_tools.localcloud.services.cloud import bring_up
from delivery_tools.localcloud.services.state import machine_state
from delivery_tools.localcloud.settings import load_local_settings
from delivery_tools.localcloud.steps import StepRunner
from delivery_tools.localcloud.system_deps import ensure_dependencies


def _project() -> Path:
    """The checkout the command runs in, with its pinned Node.js first on PATH (for the settings' validation)."""
    root = find_project_root()
    use_pinned_node(root)
    return root


def _install_deps(steps: StepRunner, _: argparse.Namespace) -> None:
    with steps.step("System packages and moto"):
        installed = ensure_dependencies(_project())
        steps.note(f"installed {', '.join(installed)}" if installed else "everything already installed")


def _engine(steps: StepRunner, _: argparse.Namespace) -> None:
    state = machine_state()
    state.prepare()
    with steps.step("Docker engine for this machine"):
        steps.note(docker_engine.ensure_engine(state, docker_engine.MACHINE_SERVICE))


def _base_image(steps: StepRunner, _: argparse.Namespace) -> None:
    with steps.step(f"Python base image {LOCAL_PYTHON_BASE_IMAGE}"):
        made = ensure_python_base_image()
        steps.note("made from Debian packages" if made else "already present, reused")
    print(LOCAL_PYTHON_BASE_IMAGE)


def print_summary(summary: dict[str, Any]) -> None:
    print()
    print(f"Deployed {summary['image_uri']}")
    print(f"  digest     {summary['image_digest']}")
    print(f"  copied     {'yes (the copy Lambda ran)' if summary['copied'] else 'no (tag already there: no-op)'}")
    print(f"  tags       {', '.join(summary['tags'])}")
    print(f"  prediction setosa sample -> {summary['prediction']}")
    print(f"  AWS API    {summary['endpoint_url']} (moto, fake credentials; no AWS account touched)")
    print(f"  total      {summary['seconds']} s")
    print(json.dumps(summary, separators=(",", ":")))


def _deploy(steps: StepRunner, args: argparse.Namespace) -> None:
    project_root = _project()
    settings = load_local_settings(project_root)  # before anything on the machine changes
    settings.only(args.environment)  # an unknown name is refused before anything changes too
    if args.rollback and not args.environment:
        raise ToolError("--rollback needs the environment to roll back: local-cloud deploy ENV --rollback TAG")
    _install_deps(steps, args)
    summary = commands.deploy(machine_state(), project_root, settings, steps, args.environment, args.rollback)
    print_summary(summary)


def _up(steps: StepRunner, _: argparse.Namespace) -> None:
    project_root = _project()
    settings = load_local_settings(project_root)
    cloud = bring_up(machine_state(), settings, project_root, steps)
    registries = ", ".join(f"https://{host} ({address})" for host, address in cloud.addresses.items())
    print(f"local cloud up: AWS API {cloud.endpoint_url}, registries {registries}")


def _diff(steps: StepRunner, args: argparse.Namespace) -> None:
    commands.diff(machine_state(), _project(), steps, args.environment)


def _destroy(steps: StepRunner, args: argparse.Namespace) -> None:
    commands.destroy(machine_state(), _project(), steps, args.environment, delete_retained=args.delete_retained)


def _down(steps: StepRunner, args: argparse.Namespace) -> None:
    teardown.take_down(machine_state(), steps, delete_data=args.delete_data)


Action = Callable[[StepRunner, argparse.Namespace], None]
# Commands whose stdout is a result (an image name) show their progress on stderr.
PRINTS_A_RESULT = frozenset({"base-image"})
ENVIRONMENT_COMMANDS = frozenset({"deploy", "diff", "destroy"})
COMMANDS: dict[str, tuple[str, Action]] = {
    "install-deps": ("install the Debian packages and moto the local cloud needs (what is missing)", _install_deps),
    "engine": ("start dockerd if no engine answers, for the whole machine (`down` keeps it)", _engine),
    "base-image": (f"make or reuse {LOCAL_PYTHON_BASE_IMAGE} from Debian packages and print its name", _base_image),
    "up": ("start this machine's local cloud, or reuse it when it runs (no deploy)", _up),
    "deploy": ("full cdk deploy of the local stages (or of ENV) into this machine's local cloud, verified", _deploy),
    "diff": ("cdk diff of the local stages (or of ENV) against the running local cloud", _diff),
    "destroy": ("cdk destroy of the local stages (or of ENV); RETAIN repositories stay, as on AWS", _destroy),
    "down": ("undo what this owner started and changed on the machine (registry data kept)", _down),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="local-cloud", description=__doc__)
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, _) in COMMANDS.items():
        subparser = subcommands.add_parser(name, help=help_text, description=help_text)
        if name == "down":
            subparser.add_argument("--delete-data", action="store_true", help="also delete the registry's images")
        if name in ENVIRONMENT_COMMANDS:
            subparser.add_argument(
                "environment", nargs="?", metavar="ENV", help="one local environment of cdk.json (default: all)"
            )
        if name == "deploy":
            subparser.add_argument(
                "--rollback",
                metavar="TAG",
                help="point ENV back at a release already in its repository (no build, no new bytes)",
            )
        if name == "destroy":
            subparser.add_argument(
                "--delete-retained", action="store_true", help="also delete the repositories kept by RETAIN"
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one sub-command; a ToolError or Ctrl-C becomes one line on stderr and a non-zero status."""
    args = build_parser().parse_args(argv)
    steps = StepRunner(out=sys.stderr if args.command in PRINTS_A_RESULT else sys.stdout)
    try:
        COMMANDS[args.command][1](steps, args)
    except ToolError as error:
        print(f"local-cloud {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            f"local-cloud {args.command}: interrupted; what ran is left as it was: "
            f"run `local-cloud {args.command}` again to finish, or `local-cloud down` to stop the local cloud",
            file=sys.stderr,
        )
        return 130
    return 0
