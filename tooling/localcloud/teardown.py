"""`local down`: stop every process the local cloud started and undo its changes to the machine."""

from __future__ import annotations

import shutil

from tooling.localcloud import docker_engine, hosts, processes, registry
from tooling.localcloud.services import SERVICES
from tooling.localcloud.state import LocalCloudState
from tooling.localcloud.steps import StepRunner


def take_down(state: LocalCloudState, steps: StepRunner) -> None:
    """Stop our services (never a dockerd that ran before), remove the image names pointing at the
    registry, the hosts line, the docker trust and the registry's data (the repositories it held lived in
    moto's memory, which is gone now)."""
    with steps.step("Stop the local cloud's processes"):
        for name in SERVICES:
            if name == docker_engine.SERVICE and docker_engine.engine_running():
                removed_images = docker_engine.remove_images_of(registry.HOST)
                steps.note(f"docker: removed {len(removed_images)} image names of {registry.HOST}")
            stopped = processes.stop(state, name)
            steps.note(f"{name}: {'stopped' if stopped else 'not running (or not ours)'}")
    with steps.step("Undo machine changes"):
        removed = hosts.remove_hosts()
        steps.note(f"/etc/hosts: removed {', '.join(removed) if removed else 'nothing'}")
        untrusted = docker_engine.untrust_registry(registry.HOST)
        steps.note(f"docker trust for {registry.HOST}: {'removed' if untrusted else 'none'}")
        if state.registry_storage.is_dir():
            shutil.rmtree(state.registry_storage)
        steps.note("registry storage removed")
