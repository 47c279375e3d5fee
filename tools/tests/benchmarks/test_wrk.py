"""wrk's summary line is read exactly, rates and error counts come from it, and rounds combine by median."""

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from delivery_tools.benchmarks.wrk import (
    SCRIPT,
    LoadResult,
    header_lines,
    load_result,
    median_result,
    parse_summary,
    run_wrk,
)
from delivery_tools.common.errors import ToolError

WRK_STDOUT = """Running 8s test @ http://127.0.0.1:41234/invocations
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.31ms    1.02ms  31.20ms   91.02%
  56400 requests in 8.00s, 12.10MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   7050.00
WRK_JSON {"requests":56400,"duration_us":8000000,"connect":0,"read":1,"write":0,"status":3,"timeout":2,\
"p50_us":2290,"p99_us":4310,"max_us":31200}
"""


def result(server: str, rps: float, p99: float, errors: int, scenario: str = "V2 infer, 1 row") -> LoadResult:
    return LoadResult(server, scenario, 1, 16, rps, rps, 1.0, p99, errors)


def test_the_summary_line_is_parsed_among_wrks_own_output() -> None:
    summary = parse_summary(WRK_STDOUT)
    assert summary["requests"] == 56400
    assert summary["p99_us"] == 4310
    assert summary["status"] == 3


def test_no_summary_line_is_an_error_that_shows_the_output() -> None:
    with pytest.raises(ToolError, match=r"(?s)wrk printed no summary.*unable to connect"):
        parse_summary("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_rates_latencies_and_errors_of_one_run() -> None:
    loaded = load_result("ours", "V2 infer, 100 rows", 100, 16, parse_summary(WRK_STDOUT))
    assert loaded.requests_per_s == 7050.0
    assert loaded.rows_per_s == 705000.0
    assert (loaded.p50_ms, loaded.p99_ms) == (2.29, 4.31)
    assert loaded.errors == 6  # socket read error + non-2xx answers + timeouts


def test_rounds_combine_to_per_metric_medians_and_summed_errors() -> None:
    combined = median_result([result("ours", 100, 9.0, 0), result("ours", 300, 1.0, 2), result("ours", 200, 5.0, 1)])
    assert combined.requests_per_s == 200
    assert combined.p99_ms == 5.0
    assert combined.errors == 3


def test_rounds_of_different_servers_are_not_combined() -> None:
    with pytest.raises(ValueError, match="cannot be combined"):
        median_result([result("ours", 100, 1.0, 0), result("kserve", 100, 1.0, 0)])


def test_headers_become_one_line_each() -> None:
    assert header_lines({"Inference-Header-Content-Length": "97", "X-A": "b"}) == (
        "Inference-Header-Content-Length: 97\nX-A: b\n"
    )
    assert header_lines({}) == ""


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_posts_the_body_file_with_exactly_the_given_headers(tmp_path: Path) -> None:
    seen: list[tuple[str | None, str | None, bytes]] = []

    class Recorder(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.headers.get("Content-Type"), self.headers.get("Inference-Header-Content-Length"), body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script, body = tmp_path / "load.lua", tmp_path / "body.bin"
    script.write_text(SCRIPT, encoding="utf-8")
    body.write_bytes(b'{"a":1}\x00\xff\x10')
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/infer"
        summary = run_wrk(url, body, script, 1, 1, {"Inference-Header-Content-Length": "7"})
    finally:
        server.shutdown()
        server.server_close()
    assert summary["requests"] >= 1 and summary["status"] == 0
    assert set(seen) == {(None, "7", b'{"a":1}\x00\xff\x10')}
