"""Typed server settings read once from environment variables, with CPU-quota-aware defaults.

Containers see the host's cores in ``os.cpu_count()``; sizing workers from it oversubscribes a
container limited to one or two CPUs, so the defaults come from the cgroup CPU quota instead.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# Where SageMaker mounts the model; the image puts it there too. `make serve` points MODEL_DIR at model/.
DEFAULT_MODEL_DIR = Path("/opt/ml/model")
DEFAULT_PORT = 8080
DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024
DEFAULT_MAX_BATCH_ROWS = 10_000
# Rows of one shared model call: enough for every connection of a busy worker with a few rows each, few
# enough (a few microseconds of model time) that a request never waits long behind others' rows.
DEFAULT_MICRO_BATCH_ROWS = 64
DEFAULT_GRACEFUL_TIMEOUT_S = 20.0
# nginx's client_header_timeout is 60 s; a model server behind a load balancer needs far less.
DEFAULT_HEADER_TIMEOUT_S = 10.0
DEFAULT_MAX_CONNECTIONS = 1000
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")


class SettingsError(ValueError):
    """An environment variable holds a value the server cannot use."""


def _own_cgroup_v2_dir(cgroup_root: Path, proc_cgroup: Path) -> Path:
    """This process's cgroup v2 directory ("0::/path" in /proc/self/cgroup); the root if unknown.

    Inside a container with its own cgroup namespace the path is "/", so the root's cpu.max is the
    container's limit; without one the path names the container's cgroup.
    """
    try:
        lines = proc_cgroup.read_text(encoding="utf-8").splitlines()
    except OSError:
        return cgroup_root
    own = next((line[3:] for line in lines if line.startswith("0::")), "/")
    directory = cgroup_root / own.lstrip("/")
    return directory if directory.is_dir() else cgroup_root


def _cgroup_v2_cpus(cgroup_root: Path, proc_cgroup: Path) -> float | None:
    """CPUs allowed by cgroup v2 ``cpu.max`` ("max 100000" means unlimited): the smallest quota from
    this process's cgroup up to the root, since every ancestor caps its children."""
    directory = _own_cgroup_v2_dir(cgroup_root, proc_cgroup)
    quotas = []
    for candidate in (directory, *directory.parents):
        cpu_max = candidate / "cpu.max"
        if cpu_max.is_file():
            quota, _, period = cpu_max.read_text(encoding="ascii").strip().partition(" ")
            if quota != "max" and period:
                quotas.append(int(quota) / int(period))
        if candidate == cgroup_root:
            break
    return min(quotas, default=None)


def _cgroup_v1_cpus(cgroup_root: Path) -> float | None:
    """CPUs allowed by cgroup v1 CFS quota (a quota of -1 means unlimited)."""
    for controller in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        quota_file = cgroup_root / controller / "cpu.cfs_quota_us"
        period_file = cgroup_root / controller / "cpu.cfs_period_us"
        if quota_file.is_file() and period_file.is_file():
            quota = int(quota_file.read_text(encoding="ascii"))
            period = int(period_file.read_text(encoding="ascii"))
            return quota / period if quota > 0 and period > 0 else None
    return None


def available_cpus(
    cgroup_root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_SELF_CGROUP, affinity: int | None = None
) -> int:
    """Whole CPUs this process may use: the cgroup quota (v2 or v1) rounded up, capped by the CPU affinity
    mask (``affinity`` overrides the mask's size, for tests on hosts with few cores)."""
    affinity = len(os.sched_getaffinity(0)) if affinity is None else affinity
    quota = _cgroup_v2_cpus(cgroup_root, proc_cgroup)
    if quota is None:
        quota = _cgroup_v1_cpus(cgroup_root)
    if quota is None:
        return max(1, affinity)
    return max(1, min(affinity, math.ceil(quota)))


def _read_int(env: Mapping[str, str], names: tuple[str, ...], default: int, minimum: int) -> int:
    """First set variable of ``names`` as an int >= ``minimum``, else ``default``."""
    for name in names:
        raw = env.get(name, "").strip()
        if not raw:
            continue
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name}={raw!r} is not an integer") from None
        if value < minimum:
            raise SettingsError(f"{name}={value} must be at least {minimum}")
        return value
    return default


def _read_float(env: Mapping[str, str], name: str, default: float) -> float:
    """Variable ``name`` as a positive float, else ``default``."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise SettingsError(f"{name}={raw!r} must be a positive number")
    return value


def listening_port(env: Mapping[str, str]) -> int:
    """``PORT``, then SageMaker's ``SAGEMAKER_BIND_TO_PORT``, else 8080: the server and its health check agree."""
    return _read_int(env, ("PORT", "SAGEMAKER_BIND_TO_PORT"), default=DEFAULT_PORT, minimum=1)


@dataclass(frozen=True)
class Settings:
    """Everything the server reads from its environment, validated."""

    model_dir: Path
    host: str
    port: int
    workers: int
    ort_threads: int
    max_body_bytes: int
    max_batch_rows: int
    micro_batch_rows: int
    graceful_timeout_s: float
    header_timeout_s: float
    max_connections: int
    log_level: str

    @property
    def graceful_timeout_whole_s(self) -> int:
        """uvicorn takes whole seconds: round up, so a fractional timeout never shrinks, nor becomes 0 (none)."""
        return math.ceil(self.graceful_timeout_s)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, cgroup_root: Path = CGROUP_ROOT) -> Settings:
        """Read ``MODEL_DIR``, ``HOST``, ``PORT``/``SAGEMAKER_BIND_TO_PORT``, ``WORKERS``, ``ORT_THREADS``,
        ``MAX_BODY_BYTES``, ``MAX_BATCH_ROWS``, ``MICRO_BATCH_ROWS``, ``GRACEFUL_TIMEOUT_S``, ``HEADER_TIMEOUT_S``,
        ``MAX_CONNECTIONS`` and ``LOG_LEVEL``."""
        env = os.environ if env is None else env
        cpus = available_cpus(cgroup_root)
        workers = _read_int(env, ("WORKERS", "SAGEMAKER_MODEL_SERVER_WORKERS"), default=cpus, minimum=1)
        log_level = env.get("LOG_LEVEL", "info").strip().lower() or "info"
        if log_level not in {"critical", "error", "warning", "info", "debug"}:
            raise SettingsError(f"LOG_LEVEL={log_level!r} is not one of critical, error, warning, info, debug")
        return cls(
            model_dir=Path(env.get("MODEL_DIR", "").strip() or DEFAULT_MODEL_DIR),
            host=env.get("HOST", "").strip() or "127.0.0.1",
            port=listening_port(env),
            workers=workers,
            ort_threads=_read_int(env, ("ORT_THREADS",), default=max(1, cpus // workers), minimum=1),
            max_body_bytes=_read_int(env, ("MAX_BODY_BYTES",), default=DEFAULT_MAX_BODY_BYTES, minimum=1),
            max_batch_rows=_read_int(env, ("MAX_BATCH_ROWS",), default=DEFAULT_MAX_BATCH_ROWS, minimum=1),
            micro_batch_rows=_read_int(env, ("MICRO_BATCH_ROWS",), default=DEFAULT_MICRO_BATCH_ROWS, minimum=1),
            graceful_timeout_s=_read_float(env, "GRACEFUL_TIMEOUT_S", DEFAULT_GRACEFUL_TIMEOUT_S),
            header_timeout_s=_read_float(env, "HEADER_TIMEOUT_S", DEFAULT_HEADER_TIMEOUT_S),
            max_connections=_read_int(env, ("MAX_CONNECTIONS",), default=DEFAULT_MAX_CONNECTIONS, minimum=1),
            log_level=log_level,
        )
