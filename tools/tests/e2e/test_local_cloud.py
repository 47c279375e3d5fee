"""End to end: `local-cloud` on the machine's real local cloud, from two checkouts, down to `down`.

Real dockerd, registry, moto, CDK CLI and copy Lambda; nothing is mocked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from delivery_tools.common.project import set_model_version
from delivery_tools.common.smoke import smoke_test
from delivery_tools.localcloud.accounts import account_client
from delivery_tools.localcloud.host_changes import docker_trust, hosts, records
from delivery_tools.localcloud.services import moto
from delivery_tools.localcloud.services.state import machine_state

pytestmark = pytest.mark.e2e


def test_deploy_redeploy_change_diff_destroy(machine: Any, tmp_path: Path) -> None:
    cloud = machine.checkout(tmp_path)
    cloud.use_a_new_model_version()
    home = cloud.settings.home
    version = cloud.settings.model_version

    first = cloud.deploy()
    tag, digest = str(first["tag"]), str(first["image_digest"])
    assert tag.startswith(f"deploy-{version}-") and first["copied"] is True
    assert first["image_uri"] == f"{home.registry_host}/{first['repository']}@{digest}", "consumers get a digest"
    assert list(first["environments"]) == [env.name for env in cloud.settings.environments]
    for env in cloud.settings.environments:  # each in its own account, behind its own registry host
        # Built once in the first environment, promoted to the others: the same bytes everywhere.
        assert first["environments"][env.name] == f"{env.registry_host}/{env.repository_name}@{digest}"
        assert cloud.registry_of(env).manifest_digest(env.repository_name, tag) == digest
        ssm = account_client("ssm", moto.ENDPOINT_URL, env.region, env.account)
        published = ssm.get_parameter(Name=env.ssm_image_uri_parameter)["Parameter"]["Value"]
        assert published == first["environments"][env.name]
    pulled = smoke_test(f"{home.registry_host}/{first['repository']}@{first['image_digest']}")
    assert pulled.label == "setosa"

    invocations = cloud.copy_invocations()
    again = cloud.deploy()
    assert (again["tag"], again["image_digest"], again["copied"]) == (tag, first["image_digest"], False)
    assert cloud.copy_invocations() == invocations, "a no-op redeploy must not run the copy again"

    set_model_version(cloud.project, f"{version}.e2e")
    pending = cloud.ok("diff")
    assert f"deploy-{version}.e2e-" in pending.stderr + pending.stdout, "the diff must show the new image tag"

    changed = cloud.deploy()
    assert str(changed["tag"]).startswith(f"deploy-{version}.e2e-") and changed["copied"] is True
    releases = {tag, str(changed["tag"])}
    assert releases <= set(cloud.registry.tags(str(first["repository"]))), "the old tag must stay"

    settled = cloud.ok("diff")
    assert (settled.stderr + settled.stdout).count("There were no differences") == 2 * len(cloud.settings.environments)

    cloud.ok("destroy")
    for env in cloud.settings.environments:
        ecr = account_client("ecr", moto.ENDPOINT_URL, env.region, env.account)
        names = {r["repositoryName"] for r in ecr.describe_repositories()["repositories"]}
        if env.destroy_on_removal:
            assert env.repository_name not in names and cloud.registry_of(env).tags(env.repository_name) == []
        else:  # RETAIN: the repository and its images outlive the stack, as on AWS
            assert env.repository_name in names
            assert releases <= set(cloud.registry_of(env).tags(env.repository_name))
    cloud.ok("destroy", "--delete-retained")
    for env in cloud.settings.environments:
        ecr = account_client("ecr", moto.ENDPOINT_URL, env.region, env.account)
        assert env.repository_name not in {r["repositoryName"] for r in ecr.describe_repositories()["repositories"]}


def test_a_second_checkout_deploys_into_the_same_cloud_and_down_undoes_only_its_owner(
    machine: Any, tmp_path: Path
) -> None:
    first, second = machine.checkout(tmp_path / "one"), machine.checkout(tmp_path / "two")
    first_summary = first.deploy()
    reused = second.ok("deploy")
    summary = json.loads(reused.stdout.strip().splitlines()[-1])
    assert summary["image_digest"] == first_summary["image_digest"] and summary["copied"] is False
    assert reused.stdout.count("    reused") >= 2, "the second checkout must reuse the running services"
    second.ok("destroy", "--delete-retained")

    state = machine_state()
    mine = records.owned(state.records, machine.owner)
    if machine.was_up:
        return  # the services belong to whoever started them; the session teardown checks they still run
    assert {item.kind for item in mine} >= {"process", "hosts-line", "docker-trust"}
    second.ok("down")
    assert records.owned(state.records, machine.owner) == []
    assert first.nothing_listens(), "nothing may listen"
    for host in first.settings.registry_hosts:
        assert hosts.address_of(host) is None, f"the hosts line of {host} is left"
        assert not (docker_trust.CERTS_DIRECTORY / host).exists(), f"docker still trusts the CA for {host}"
    assert state.registry_storage.is_dir(), "down keeps the registry's data unless asked to delete it"
