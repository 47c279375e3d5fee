"""Settings from the environment, and CPU counts from the cgroup quota rather than the host's cores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from model_server.settings import Settings, SettingsError, available_cpus

HOST_CPUS = len(os.sched_getaffinity(0))


def cgroup_v2(root: Path, cpu_max: str) -> Path:
    (root / "cpu.max").write_text(cpu_max + "\n")
    return root


def cgroup_v1(root: Path, quota: int, period: int = 100_000) -> Path:
    controller = root / "cpu,cpuacct"
    controller.mkdir()
    (controller / "cpu.cfs_quota_us").write_text(f"{quota}\n")
    (controller / "cpu.cfs_period_us").write_text(f"{period}\n")
    return root


def test_cgroup_v2_quota_limits_cpus(tmp_path: Path) -> None:
    assert available_cpus(cgroup_v2(tmp_path, "100000 100000"), affinity=8) == 1


@pytest.mark.parametrize(("cpu_max", "cpus"), [("50000 100000", 1), ("150000 100000", 2), ("220000 100000", 3)])
def test_cgroup_v2_fractional_quota_rounds_up(tmp_path: Path, cpu_max: str, cpus: int) -> None:
    """1.5 CPUs of quota are 2 workers' worth (floor would give 1, round would give 2.2 -> 2)."""
    assert available_cpus(cgroup_v2(tmp_path, cpu_max), affinity=8) == cpus


def test_cgroup_v1_fractional_quota_rounds_up(tmp_path: Path) -> None:
    assert available_cpus(cgroup_v1(tmp_path, 150_000), affinity=8) == 2


def test_cgroup_v2_max_means_the_affinity_mask(tmp_path: Path) -> None:
    assert available_cpus(cgroup_v2(tmp_path, "max 100000")) == HOST_CPUS


def test_cgroup_v1_quota_limits_cpus(tmp_path: Path) -> None:
    assert available_cpus(cgroup_v1(tmp_path, 100_000), affinity=8) == 1


def test_cgroup_v1_unlimited_and_no_cgroup_mean_the_affinity_mask(tmp_path: Path) -> None:
    assert available_cpus(cgroup_v1(tmp_path, -1)) == HOST_CPUS
    assert available_cpus(tmp_path / "missing") == HOST_CPUS


def test_quota_above_the_affinity_mask_is_capped(tmp_path: Path) -> None:
    assert available_cpus(cgroup_v2(tmp_path, "1200000 100000"), affinity=3) == 3


@pytest.mark.skipif(HOST_CPUS < 2, reason="needs at least 2 CPUs in the affinity mask to see a quota below it")
def test_workers_and_threads_follow_the_quota(tmp_path: Path) -> None:
    one_cpu = Settings.from_env(env={}, cgroup_root=cgroup_v2(tmp_path, "100000 100000"))
    assert (one_cpu.workers, one_cpu.ort_threads) == (1, 1)


def test_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env(env={}, cgroup_root=tmp_path)
    assert settings.port == 8080
    assert settings.host == "127.0.0.1"
    assert settings.model_dir == Path("/opt/ml/model")
    assert settings.max_body_bytes == 6 * 1024 * 1024
    assert (settings.max_batch_rows, settings.micro_batch_rows) == (10_000, 64)
    assert (settings.header_timeout_s, settings.max_connections) == (10.0, 1000)
    assert settings.workers == HOST_CPUS
    assert settings.ort_threads == 1


def test_environment_overrides(tmp_path: Path) -> None:
    settings = Settings.from_env(
        env={
            "PORT": "9000",
            "WORKERS": "3",
            "ORT_THREADS": "2",
            "MODEL_DIR": "/opt/ml/model",
            "MAX_BODY_BYTES": "1024",
            "MAX_BATCH_ROWS": "5",
            "MICRO_BATCH_ROWS": "1",
            "GRACEFUL_TIMEOUT_S": "2.5",
            "HEADER_TIMEOUT_S": "0.5",
            "MAX_CONNECTIONS": "64",
            "LOG_LEVEL": "WARNING",
        },
        cgroup_root=tmp_path,
    )
    assert (settings.port, settings.workers, settings.ort_threads) == (9000, 3, 2)
    assert settings.model_dir == Path("/opt/ml/model")
    assert (settings.max_body_bytes, settings.max_batch_rows, settings.micro_batch_rows) == (1024, 5, 1)
    assert (settings.graceful_timeout_s, settings.log_level) == (2.5, "warning")
    assert (settings.header_timeout_s, settings.max_connections) == (0.5, 64)


@pytest.mark.parametrize(("seconds", "whole"), [("0.2", 1), ("2.5", 3), ("20", 20), ("20.01", 21)])
def test_graceful_timeout_rounds_up_to_whole_seconds_never_to_zero(tmp_path: Path, seconds: str, whole: int) -> None:
    """uvicorn takes whole seconds, and 0 would mean no drain at all."""
    settings = Settings.from_env(env={"GRACEFUL_TIMEOUT_S": seconds}, cgroup_root=tmp_path)
    assert settings.graceful_timeout_whole_s == whole


def test_sagemaker_variables_apply_when_ours_are_unset(tmp_path: Path) -> None:
    settings = Settings.from_env(
        env={"SAGEMAKER_BIND_TO_PORT": "7070", "SAGEMAKER_MODEL_SERVER_WORKERS": "4"}, cgroup_root=tmp_path
    )
    assert (settings.port, settings.workers) == (7070, 4)
    assert Settings.from_env(env={"PORT": "1234", "SAGEMAKER_BIND_TO_PORT": "7070"}, cgroup_root=tmp_path).port == 1234


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "eighty"}, "PORT='eighty' is not an integer"),
        ({"WORKERS": "0"}, "WORKERS=0 must be at least 1"),
        ({"MAX_BATCH_ROWS": "-5"}, "MAX_BATCH_ROWS=-5 must be at least 1"),
        ({"MICRO_BATCH_ROWS": "0"}, "MICRO_BATCH_ROWS=0 must be at least 1"),
        ({"MICRO_BATCH_ROWS": "many"}, "MICRO_BATCH_ROWS='many' is not an integer"),
        ({"GRACEFUL_TIMEOUT_S": "soon"}, "GRACEFUL_TIMEOUT_S='soon' is not a number"),
        ({"GRACEFUL_TIMEOUT_S": "inf"}, "must be a positive number"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL='loud'"),
        ({"HEADER_TIMEOUT_S": "0"}, "HEADER_TIMEOUT_S='0' must be a positive number"),
        ({"MAX_CONNECTIONS": "0"}, "MAX_CONNECTIONS=0 must be at least 1"),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(env=env, cgroup_root=tmp_path)


def test_cgroup_v2_reads_the_own_cgroup_and_its_ancestors(tmp_path: Path) -> None:
    """Without a cgroup namespace the quota sits on the process's own cgroup, or on an ancestor."""
    root = tmp_path / "cgroup"
    own = root / "system.slice" / "task.scope"
    own.mkdir(parents=True)
    cgroup_v2(root, "max 100000")
    proc_cgroup = tmp_path / "proc-self-cgroup"
    proc_cgroup.write_text("0::/system.slice/task.scope\n")
    assert available_cpus(root, proc_cgroup, affinity=8) == 8

    cgroup_v2(own, "100000 100000")
    assert available_cpus(root, proc_cgroup, affinity=8) == 1

    cgroup_v2(own, "400000 100000")
    cgroup_v2(root / "system.slice", "200000 100000")
    assert available_cpus(root, proc_cgroup, affinity=8) == 2


def test_an_unknown_own_cgroup_falls_back_to_the_root(tmp_path: Path) -> None:
    proc_cgroup = tmp_path / "proc-self-cgroup"
    proc_cgroup.write_text("0::/gone\n")
    assert available_cpus(cgroup_v2(tmp_path, "250000 100000"), proc_cgroup, affinity=8) == 3
