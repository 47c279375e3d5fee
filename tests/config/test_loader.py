"""Bad configuration fails before synthesis, one line per problem naming env, key, value and the rule."""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from config import ConfigError, load_settings
from config.project import project_context

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def environments() -> dict[str, Any]:
    return copy.deepcopy(project_context(PROJECT_ROOT)["environments"])


def problems_for(envs: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_settings(envs, model_version="1.0.0")
    return raised.value.problems


def with_change(env: str, path: str, value: Any) -> dict[str, Any]:
    envs = environments()
    target = envs[env]
    *parents, leaf = path.split(".")
    for part in parents:
        target = target[part]
    target[leaf] = value
    return envs


def test_the_shipped_configuration_is_valid() -> None:
    settings = load_settings(environments(), model_version="1.0.0")
    assert [env.name for env in settings.environments] == [
        "dev",
        "staging",
        "prod",
        "local",
        "local-staging",
        "local-prod",
    ]
    local = settings.environment("local")
    assert (local.account, local.region, local.destroy_on_removal) == ("123456789012", "us-east-1", True)
    assert [env.name for env in settings.local_environments] == ["local", "local-staging", "local-prod"]
    assert len({env.account for env in settings.local_environments}) == 3, "each local environment has its account"
    assert local.registry_host == "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    assert not settings.environment("prod").is_local
    local_prod = settings.environment("local-prod")
    assert (local_prod.production, local_prod.destroy_on_removal, local_prod.termination_protection) == (
        True,
        False,
        True,
    ), "local-prod mirrors prod's protections"


@pytest.mark.parametrize(
    ("env", "path", "value", "expected"),
    [
        ("dev", "account", "12345", "environment 'dev': account = '12345': must be a 12-digit AWS account id"),
        ("dev", "account", 111111111111, "environment 'dev': account = 111111111111: Input should be a valid string"),
        ("staging", "region", "eu-wset-1", "environment 'staging': region = 'eu-wset-1': must be an AWS region"),
        ("dev", "repository_name", "Model_Serving", "environment 'dev': repository_name = 'Model_Serving': must be"),
        ("dev", "repository_name", "a", "environment 'dev': repository_name = 'a': must be 2-256 chars"),
        ("dev", "lifecycle.max_image_count", 0, "lifecycle.max_image_count = 0: Input should be greater than or"),
        ("dev", "lifecycle.untagged_expiry_days", 0, "lifecycle.untagged_expiry_days = 0: Input should be greater"),
        ("prod", "removal_policy", "destroy", "environment 'prod': removal_policy = 'destroy': a production"),
        ("prod", "termination_protection", False, "termination_protection = false: a production environment must"),
        ("prod", "pull_account_ids", ["44444444444x"], "pull_account_ids.0 = '44444444444x': must be a 12-digit"),
        ("dev", "push_principal_arns", ["ci-role"], "push_principal_arns.0 = 'ci-role': must be an IAM role or user"),
        ("dev", "image_platform", "linux/386", "image_platform = 'linux/386': Input should be 'linux/amd64' or"),
        ("dev", "removal_policy", "snapshot", "removal_policy = 'snapshot': Input should be 'retain' or 'destroy'"),
        ("dev", "target", "gcp", "environment 'dev': target = 'gcp': Input should be 'aws' or 'local'"),
        ("local", "deployed_by_github", True, "environment 'local': target 'local' needs deployed_by_github: false"),
    ],
)
def test_each_bad_value_is_named_with_its_rule(env: str, path: str, value: Any, expected: str) -> None:
    (problem,) = problems_for(with_change(env, path, value))
    assert expected in problem


@pytest.mark.parametrize("prefix", ["release*", "", "-rc", "rel/ease", "x" * 129])
def test_a_protected_prefix_that_can_never_match_is_rejected(prefix: str) -> None:
    (problem,) = problems_for(with_change("prod", "lifecycle.protected_tag_prefixes", ["release", prefix]))
    assert problem.startswith("environment 'prod': lifecycle.protected_tag_prefixes.1 = ")
    assert "the keep rule would still expire those images" in problem


def test_a_repeated_protected_prefix_is_rejected() -> None:
    (problem,) = problems_for(with_change("prod", "lifecycle.protected_tag_prefixes", ["release", "release"]))
    assert "must not repeat a prefix" in problem


def test_a_missing_key_is_named() -> None:
    envs = environments()
    del envs["dev"]["account"]
    assert problems_for(envs) == ["environment 'dev': account is missing; it is required"]


def test_a_misspelled_key_gets_a_suggestion_and_the_allowed_keys() -> None:
    envs = environments()
    envs["staging"]["repository_nme"] = envs["staging"].pop("repository_name")
    problems = problems_for(envs)
    assert any(
        p.startswith("environment 'staging': unknown key 'repository_nme' (did you mean 'repository_name'?)")
        for p in problems
    )
    assert any("repository_name = " not in p and "allowed: account, region, repository_name" in p for p in problems)


def test_an_unknown_lifecycle_key_is_named_with_its_path() -> None:
    (problem,) = problems_for(with_change("dev", "lifecycle.keep_images", 5))
    assert problem.startswith("environment 'dev': unknown key 'lifecycle.keep_images'")
    assert "allowed: untagged_expiry_days, max_image_count, protected_tag_prefixes" in problem


def test_every_problem_is_reported_at_once() -> None:
    envs = with_change("dev", "account", "1")
    envs["prod"]["removal_policy"] = "destroy"
    envs["local"]["region"] = "mars-1"
    problems = problems_for(envs)
    assert len(problems) == 3
    assert [p.split(":")[0] for p in problems] == ["environment 'dev'", "environment 'prod'", "environment 'local'"]


@pytest.mark.parametrize(
    ("github", "expected"),
    [
        ({"owner": "-acme", "repo": "x"}, "config: github.owner = '-acme': String should match pattern"),
        ({"owner": "acme", "repo": "a b"}, "config: github.repo = 'a b': String should match pattern"),
        ({"owner": "acme", "repos": "x"}, "config: unknown key 'github.repos' (did you mean 'repo'?)"),
        ({"owner": "acme"}, "config: github.repo is missing; it is required"),
    ],
)
def test_github_settings_are_checked(github: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(environments(), model_version="1.0.0", github=github)
    assert any(problem.startswith(expected) for problem in raised.value.problems), raised.value.problems


def test_missing_environments_are_reported() -> None:
    with pytest.raises(ConfigError, match="environments = null: must be a non-empty mapping"):
        load_settings(None, model_version="1.0.0")


def test_app_prints_one_line_per_problem_and_synthesizes_nothing(tmp_path: Any) -> None:
    context = project_context(PROJECT_ROOT)
    context["environments"]["prod"]["removal_policy"] = "destroy"
    context["environments"]["dev"]["account"] = "abc"
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("configuration error: ")]
    assert lines == [
        "configuration error: environment 'dev': account = 'abc': must be a 12-digit AWS account id",
        "configuration error: environment 'prod': removal_policy = 'destroy': "
        "a production environment must use 'retain'",
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("env", "promote_from", "expected"),
    [
        ("staging", "qa", "environment 'staging': promote_from = 'qa': no such environment; environments: dev,"),
        ("staging", "staging", "environment 'staging': promote_from = 'staging': an environment cannot promote from"),
        ("staging", "local", "environment 'staging': promote_from = 'local': a aws environment cannot promote from"),
        ("dev", "prod", "environment 'dev': promote_from = 'prod': the chain dev -> prod -> staging -> dev is a cycle"),
        ("staging", "Dev", "environment 'staging': promote_from = 'Dev': String should match pattern"),
    ],
)
def test_promotion_chains_are_checked(env: str, promote_from: str, expected: str) -> None:
    problems = problems_for(with_change(env, "promote_from", promote_from))
    assert any(problem.startswith(expected) for problem in problems), problems


def test_a_promoted_environment_with_build_settings_is_refused() -> None:
    (problem,) = problems_for(with_change("prod", "base_image", "python:3.12-slim"))
    assert problem.startswith("environment 'prod': base_image = 'python:3.12-slim': a promoted environment builds")


def test_promotion_order_puts_every_source_first() -> None:
    envs = environments()
    reordered = {name: envs[name] for name in ("prod", "local", "staging", "dev")}
    settings = load_settings(reordered, model_version="1.0.0")
    assert [env.name for env in settings.in_promotion_order] == ["local", "dev", "staging", "prod"]
    staging = settings.environment("staging")
    assert settings.promotion_source(staging) == settings.environment("dev")
    assert settings.promotion_targets(staging) == (settings.environment("prod"),)


@pytest.mark.parametrize(
    ("rollback", "expected"),
    [
        ("prod", "rollback = 'prod': must be ENVIRONMENT=TAG, e.g. prod=1.0.0-0123456789ab"),
        ("qa=1.0.0-abc", "config: rollback.environment = 'qa': no such environment; environments: dev,"),
        ("prod=bad tag", "config: rollback.image_tag = 'bad tag': must be an image tag"),
    ],
)
def test_a_rollback_names_an_environment_and_a_tag(rollback: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(environments(), model_version="1.0.0", rollback=rollback)
    assert any(problem.startswith(expected) for problem in raised.value.problems), raised.value.problems


def test_a_rollback_applies_to_its_environment_only() -> None:
    settings = load_settings(environments(), model_version="1.0.0", rollback="prod=1.0.0-0123456789ab")
    assert settings.rollback_tag(settings.environment("prod")) == "1.0.0-0123456789ab"
    assert settings.rollback_tag(settings.environment("staging")) is None


def test_the_base_image_override_reaches_only_the_environments_that_build() -> None:
    settings = load_settings(environments(), model_version="1.0.0", base_image_override="local/python-base:bookworm")
    builds = {env.name: env.base_image for env in settings.environments if not env.promote_from}
    assert builds and set(builds.values()) == {"local/python-base:bookworm"}
    assert all(env.base_image is None for env in settings.environments if env.promote_from)


@pytest.mark.parametrize("target", ["local", "aws"])
def test_a_target_keeps_the_app_to_its_environments_with_whole_chains(target: str) -> None:
    settings = load_settings(environments(), model_version="1.0.0", target=target)
    every = load_settings(environments(), model_version="1.0.0")
    assert [env.name for env in settings.synthesized] == [
        env.name for env in every.in_promotion_order if env.target == target
    ]
    assert settings.synthesized, "the shipped cdk.json has environments of both targets"
    names = {env.name for env in settings.synthesized}
    assert all(env.promote_from in names for env in settings.synthesized if env.promote_from)
    assert {env.name for env in settings.github_deployed} <= names


def test_without_a_target_every_environment_is_synthesized() -> None:
    settings = load_settings(environments(), model_version="1.0.0")
    assert set(settings.synthesized) == set(settings.environments)


@pytest.mark.parametrize(
    ("target", "rollback", "expected"),
    [
        ("moon", None, "config: target = 'moon': Input should be 'aws' or 'local'"),
        ("local", "prod=1.0.0-0123456789ab", "config: rollback.environment = 'prod': not synthesized with target"),
    ],
)
def test_a_bad_target_or_a_rollback_outside_it_is_refused(target: str, rollback: str | None, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(environments(), model_version="1.0.0", target=target, rollback=rollback)
    assert any(problem.startswith(expected) for problem in raised.value.problems), raised.value.problems
