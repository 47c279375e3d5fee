"""`local-cloud down`: undo exactly the changes the current owner recorded, and nothing else."""

from __future__ import annotations

import shutil

from delivery_tools.common.commands import run
from delivery_tools.common.docker import engine_answers, image_exists
from delivery_tools.common.errors import ToolError
from delivery_tools.common.http import port_open
from delivery_tools.localcloud.host_changes import docker_trust, hosts, records
from delivery_tools.localcloud.services import docker_engine, ecr_hosts, lock, moto, registry, supervisor
from delivery_tools.localcloud.services.cloud import DOCKER_TRUST, HOSTS_LINE, IMAGE, PROCESS, SERVICES
from delivery_tools.localcloud.services.state import LocalCloudState
from delivery_tools.localcloud.steps import StepRunner


def _listens_on(state: LocalCloudState) -> dict[str, list[tuple[str, int]]]:
    """Where each network service listens (read before it is stopped)."""
    proxy = [(address, ecr_hosts.PORT) for address in ecr_hosts.served_addresses(state).values()]
    return {moto.SERVICE: [("127.0.0.1", moto.PORT)], ecr_hosts.SERVICE: proxy}


def _registry_hosts(state: LocalCloudState) -> tuple[str, ...]:
    """Every registry host name the local cloud was set up for (read from the records, not the settings)."""
    changes = records.owned_by_anyone(state.records)
    return tuple(sorted({item.target for item in changes if item.kind in (HOSTS_LINE, DOCKER_TRUST)}))


def _remove_images(state: LocalCloudState, owner: str, steps: StepRunner) -> None:
    if not engine_answers():
        return
    if any(item.target == registry.SERVICE for item in records.owned(state.records, owner, PROCESS)):
        removed = docker_engine.remove_images_of(_registry_hosts(state))
        steps.note(f"docker: removed {len(removed)} image names pushed to or pulled from the registry")
    for item in records.owned(state.records, owner, IMAGE):
        if image_exists(item.target):
            run(["docker", "image", "rm", item.target])
        records.forget(state.records, item)
        steps.note(f"docker: removed the image {item.target} it made")


def _stop_processes(state: LocalCloudState, owner: str, steps: StepRunner) -> None:
    started = {item.target: item for item in records.owned(state.records, owner, PROCESS)}
    listens_on = _listens_on(state)
    for name in (service for service in SERVICES if service in started):
        stopped = supervisor.stop(state, name)
        answering = [f"{address}:{port}" for address, port in listens_on.get(name, []) if port_open((address, port))]
        if stopped and answering:
            raise ToolError(f"{name} was stopped but {', '.join(answering)} still answers: find its process")
        records.forget(state.records, started[name])
        steps.note(f"{name}: {'stopped' if stopped else 'was not running'}")
        if name == moto.SERVICE and engine_answers():
            steps.note(f"{name}: removed {moto.remove_code_volumes()} volumes of unpacked function code")
    others = [name for name in SERVICES if name not in started and supervisor.tracked_pid(state, name) is not None]
    if others:
        steps.note(f"left running (started by another owner): {', '.join(others)}")


def _undo_host_changes(state: LocalCloudState, owner: str, steps: StepRunner) -> None:
    for item in records.owned(state.records, owner, HOSTS_LINE):
        steps.note(f"/etc/hosts: {'removed' if hosts.remove_host(item.target) else 'no'} line for {item.target}")
        records.forget(state.records, item)
    for item in records.owned(state.records, owner, DOCKER_TRUST):
        removed = docker_trust.untrust_registry(item.target)
        steps.note(f"docker trust for {item.target}: {'removed' if removed else 'none'}")
        records.forget(state.records, item)


def take_down(state: LocalCloudState, steps: StepRunner, *, delete_data: bool = False) -> None:
    """Undo what the current owner recorded: images it made, processes it started (never a dockerd that ran
    before), hosts lines, docker trust. The registry's images stay unless `delete_data`."""
    owner = records.current_owner()
    if not state.directory.is_dir():
        steps.note(f"no local cloud state in {state.directory}: nothing to take down")
        return
    with lock.exclusive(state.lock_file, "down", steps.note):
        with steps.step(f"Remove the images {owner} made"):
            _remove_images(state, owner, steps)
        with steps.step(f"Stop the processes {owner} started"):
            _stop_processes(state, owner, steps)
        with steps.step(f"Undo the machine changes {owner} made"):
            _undo_host_changes(state, owner, steps)
        if delete_data:
            with steps.step(f"Delete the registry's data in {state.registry_storage}"):
                shutil.rmtree(state.registry_storage, ignore_errors=True)
