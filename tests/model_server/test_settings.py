"""Settings from the environment, and CPU counts from the cgroup quota rather than the host's cores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from model_server.settings import DEFAULT_MODEL_DIR, Settings, SettingsError, available_cpus

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


@pytest.mark.skipif(HOST_CPUS < 2, reason="needs at least 2 CPUs in the affinity mask to see a quota below it")
def test_cgroup_v2_quota_limits_cpus(tmp_path: Path) -> None:
    assert available_cpus(cgroup_v2(tmp_path, "100000 100000")) == 1


def test_cgroup_v2_fractional_quota_rounds_up(tmp_path: Path) -> None:
    assert available_cpus(cgroup_v2(tmp_path, "50000 100000")) == 1


def test_cgroup_v2_max_means_the_affinity_mask(tmp_path: Path) -> None:
    assert available_cpus(cgroup_v2(tmp_path, "max 100000")) == HOST_CPUS


@pytest.mark.skipif(HOST_CPUS < 2, reason="needs at least 2 CPUs in the affinity mask to see a quota below it")
def test_cgroup_v1_quota_limits_cpus(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    assert available_cpus(cgroup_v1(tmp_path / "one", 100_000)) == 1
    (tmp_path / "one-and-a-half").mkdir()
    assert available_cpus(cgroup_v1(tmp_path / "one-and-a-half", 150_000)) == 2


def test_cgroup_v1_unlimited_and_no_cgroup_mean_the_affinity_mask(tmp_path: Path) -> None:
    assert available_cpus(cgroup_v1(tmp_path, -1)) == HOST_CPUS
    assert available_cpus(tmp_path / "missing") == HOST_CPUS


def test_quota_above_the_affinity_mask_is_capped(tmp_path: Path) -> None:
    assert available_cpus(cgroup_v2(tmp_path, f"{(HOST_CPUS + 4) * 100_000} 100000")) == HOST_CPUS


@pytest.mark.skipif(HOST_CPUS < 2, reason="needs at least 2 CPUs in the affinity mask to see a quota below it")
def test_workers_and_threads_follow_the_quota(tmp_path: Path) -> None:
    one_cpu = Settings.from_env(env={}, cgroup_root=cgroup_v2(tmp_path, "100000 100000"))
    assert (one_cpu.workers, one_cpu.ort_threads) == (1, 1)


def test_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env(env={}, cgroup_root=tmp_path)
    assert settings.port == 8080
    assert settings.host == "127.0.0.1"
    assert settings.model_dir == DEFAULT_MODEL_DIR
    assert settings.max_body_bytes == 6 * 1024 * 1024
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
            "GRACEFUL_TIMEOUT_S": "2.5",
            "LOG_LEVEL": "WARNING",
        },
        cgroup_root=tmp_path,
    )
    assert (settings.port, settings.workers, settings.ort_threads) == (9000, 3, 2)
    assert settings.model_dir == Path("/opt/ml/model")
    assert (settings.max_body_bytes, settings.max_batch_rows) == (1024, 5)
    assert (settings.graceful_timeout_s, settings.log_level) == (2.5, "warning")


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
        ({"GRACEFUL_TIMEOUT_S": "soon"}, "GRACEFUL_TIMEOUT_S='soon' is not a number"),
        ({"GRACEFUL_TIMEOUT_S": "inf"}, "must be a positive number"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL='loud'"),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(env=env, cgroup_root=tmp_path)


@pytest.mark.skipif(HOST_CPUS < 2, reason="needs at least 2 CPUs in the affinity mask to see a quota below it")
def test_cgroup_v2_reads_the_own_cgroup_and_its_ancestors(tmp_path: Path) -> None:
    """Without a cgroup namespace the quota sits on the process's own cgroup, or on an ancestor."""
    root = tmp_path / "cgroup"
    own = root / "system.slice" / "task.scope"
    own.mkdir(parents=True)
    cgroup_v2(root, "max 100000")
    proc_cgroup = tmp_path / "proc-self-cgroup"
    proc_cgroup.write_text("0::/system.slice/task.scope\n")
    assert available_cpus(root, proc_cgroup) == HOST_CPUS

    cgroup_v2(own, "100000 100000")
    assert available_cpus(root, proc_cgroup) == 1

    cgroup_v2(own, f"{HOST_CPUS * 100_000} 100000")
    cgroup_v2(root / "system.slice", "100000 100000")
    assert available_cpus(root, proc_cgroup) == 1


def test_an_unknown_own_cgroup_falls_back_to_the_root(tmp_path: Path) -> None:
    proc_cgroup = tmp_path / "proc-self-cgroup"
    proc_cgroup.write_text("0::/gone\n")
    assert available_cpus(cgroup_v2(tmp_path, "50000 100000"), proc_cgroup) == 1
