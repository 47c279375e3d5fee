"""wrk, the load tool of the serving benchmark: one run, its summary, and medians over rounds.

wrk comes from Debian (`apt-get install wrk`). A Lua script sends the body file (or nothing, for a GET) with the
request's headers and prints wrk's own summary and percentiles as one JSON line, which is what is parsed here.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from delivery_tools.common.commands import run, with_env
from delivery_tools.common.errors import ToolError

INSTALL_HINT = "wrk is not installed: `apt-get install wrk` (Debian package) and run again"
SCRIPT = """
local body_path = os.getenv("WRK_BODY_FILE")
if body_path ~= nil and body_path ~= "" then
  local body_file = io.open(body_path, "rb")
  wrk.method = "POST"
  wrk.body = body_file:read("*a")
  body_file:close()
end
-- Request headers, one "Name: value" per line.
for line in string.gmatch(os.getenv("WRK_HEADERS") or "", "[^\\n]+") do
  local name, value = string.match(line, "^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""
_SUMMARY = re.compile(r"^WRK_JSON (\{.*\})$", re.MULTILINE)
_ERROR_KEYS = ("connect", "read", "write", "status", "timeout")


@dataclass(frozen=True)
class LoadResult:
    """One wrk run (or the median of several) against one server in one scenario."""

    server: str
    scenario: str
    rows_per_request: int
    connections: int
    requests_per_s: float
    rows_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


def parse_summary(stdout: str) -> dict[str, int]:
    """The numbers the script's `done` printed; a ToolError when wrk printed none (it failed)."""
    match = _SUMMARY.search(stdout)
    if match is None:
        raise ToolError(f"wrk printed no summary:\n{stdout}")
    summary: dict[str, int] = json.loads(match.group(1))
    return summary


def load_result(server: str, scenario: str, rows: int, connections: int, summary: dict[str, int]) -> LoadResult:
    """Rates and latencies of one run. Errors are socket errors plus non-2xx answers (wrk's `status`)."""
    seconds = summary["duration_us"] / 1e6
    return LoadResult(
        server=server,
        scenario=scenario,
        rows_per_request=rows,
        connections=connections,
        requests_per_s=round(summary["requests"] / seconds, 1),
        rows_per_s=round(summary["requests"] * rows / seconds, 1),
        p50_ms=round(summary["p50_us"] / 1000, 3),
        p99_ms=round(summary["p99_us"] / 1000, 3),
        errors=sum(summary[key] for key in _ERROR_KEYS),
    )


def median_result(rounds: list[LoadResult]) -> LoadResult:
    """Per-metric median over rounds (errors summed): one unlucky scheduling burst does not decide a number."""
    first = rounds[0]
    if any((r.server, r.scenario) != (first.server, first.scenario) for r in rounds):
        raise ValueError(f"rounds of different servers or scenarios cannot be combined: {rounds}")
    return LoadResult(
        server=first.server,
        scenario=first.scenario,
        rows_per_request=first.rows_per_request,
        connections=first.connections,
        requests_per_s=statistics.median(r.requests_per_s for r in rounds),
        rows_per_s=statistics.median(r.rows_per_s for r in rounds),
        p50_ms=statistics.median(r.p50_ms for r in rounds),
        p99_ms=statistics.median(r.p99_ms for r in rounds),
        errors=sum(r.errors for r in rounds),
    )


def header_lines(headers: Mapping[str, str]) -> str:
    """`headers` as the script reads them: one `Name: value` per line."""
    return "".join(f"{name}: {value}\n" for name, value in headers.items())


def run_wrk(
    url: str,
    body_file: Path | None,
    script: Path,
    connections: int,
    duration_s: int,
    headers: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """One wrk run with one thread, so that the load generator takes as little CPU from the servers as it can.
    `body_file` None sends GETs; `headers` go with every request."""
    completed = run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration_s}s", "--latency", "-s", str(script), url],
        env=with_env(
            {"WRK_BODY_FILE": str(body_file) if body_file else "", "WRK_HEADERS": header_lines(headers or {})}
        ),
        timeout=duration_s + 60,
    )
    return parse_summary(completed.stdout)
