"""The image-sizes benchmark's reading of the copy function's REPORT line and its verdicts on the goals."""

from __future__ import annotations

from typing import Any

import pytest

from delivery_tools.benchmarks.image_sizes import parse_report, print_report

LOG = (
    "copying blob sha256:...\n"
    "REPORT Function: copy\tDuration: 8123.40 ms\tMemory Size: 512 MB\tMax Memory Used: 41 MB"
    "\tContainer Peak: 77 MB\tCPU: 6.25 s\n"
    '{"Status": "SUCCESS"}'
)


def test_the_report_line_is_read() -> None:
    assert parse_report(LOG) == {
        "seconds": 8.1234,
        "memory_size_mib": 512.0,
        "max_memory_used_mib": 41.0,
        "container_peak_mib": 77.0,
        "cpu_seconds": 6.25,
    }
    assert parse_report("no report here") is None


def step(name: str, seconds: float, pushed: int, copied: int, copy_seconds: float | None = None) -> dict[str, Any]:
    copy = parse_report(LOG.replace("8123.40", f"{(copy_seconds or 1) * 1000:.2f}")) if copy_seconds else None
    return {"name": name, "seconds": seconds, "pushed": pushed, "copied": copied, "copy": copy}


def result(code_bytes: int, code_seconds: float, model_bytes_moved: int, hop_seconds: float) -> dict[str, Any]:
    return {
        "image_bytes": 1_000_000_000,
        "model_bytes": 900_000_000,
        "steps": [
            step("first deploy", 60, 1_000_000_000, 1_000_000_000, 10),
            step("promotion hop (empty target)", 30, 0, 1_000_000_000, hop_seconds),
            step("no-op redeploy #1", 10, 0, 0),
            step("server-code-only change #1", code_seconds, code_bytes, code_bytes, 1),
            step("no-op redeploy #2", 30, 0, 0),
            step("server-code-only change #2", 30, 1_000, 1_000, 1),
            step("no-op redeploy #3", 9, 0, 0),
            step("server-code-only change #3", code_seconds - 1, 1_000, 1_000, 1),
            step("model-only change", 40, model_bytes_moved, model_bytes_moved, 9),
        ],
        "docker push (floor)": {"seconds": 8, "bytes": 1_000_000_000},
        "skopeo copy (floor)": {"seconds": 7, "bytes": 1_000_000_000},
    }


def test_every_goal_met(capsys: pytest.CaptureFixture[str]) -> None:
    print_report("large", result(code_bytes=200_000, code_seconds=15, model_bytes_moved=920_000_000, hop_seconds=8))
    out = capsys.readouterr().out
    assert "MISSED" not in out and out.count("(met)") == 4
    assert "1.50x the no-op redeploy time, medians of 3 rounds" in out, "15 s against 10 s, not 30 against 30"
    assert "10.0 s of 900 s" in out


def test_each_goal_missed(capsys: pytest.CaptureFixture[str]) -> None:
    print_report("large", result(code_bytes=20_000_000, code_seconds=16, model_bytes_moved=960_000_000, hop_seconds=20))
    # The largest of the rounds' transfers counts: here the first round's 2% of the image.
    assert capsys.readouterr().out.count("MISSED") == 4
