"""The serving benchmark's own logic: scenarios per server, ratios to ours, the table, the answer check
against a live (loopback, stand-in) server, and the command line. No peer is installed or started here."""

import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from delivery_tools.benchmarks import serving
from delivery_tools.benchmarks.answers import Body, WrongAnswerError, rows_and_labels, write_body
from delivery_tools.benchmarks.servers import OURS, SERVERS
from delivery_tools.benchmarks.wrk import INSTALL_HINT, LoadResult

BY_KEY = {s.key: s for s in SERVERS}


def result(server: str, scenario: str, rps: float) -> LoadResult:
    return LoadResult(server, scenario, 1, 16, rps, rps, 1.0, 2.0, 0)


def test_each_server_takes_part_in_the_scenarios_of_the_protocols_it_speaks() -> None:
    names = {key: [s.name for s in serving.scenarios_of(server)] for key, server in BY_KEY.items()}
    assert names["model_server"] == [s.name for s in serving.SCENARIOS]
    assert names["gunicorn_flask"] == ["/invocations, 1 row", "/invocations, 100 rows"]
    assert names["mlserver"] == names["kserve"] == ["V2 infer, 1 row", "V2 infer, 100 rows"]


def test_ratios_are_req_per_s_over_ours_in_the_same_scenario() -> None:
    results = [
        result("model_server", "V2 infer, 1 row", 4000),
        result("kserve", "V2 infer, 1 row", 1000),
        result("model_server", "/invocations, 1 row", 2000),
        result("gunicorn_flask", "/invocations, 1 row", 500),
        result("mlserver", "V2 infer, 100 rows", 300),
    ]
    assert serving.ratios_to_ours(results, "model_server") == {
        ("model_server", "V2 infer, 1 row"): 1.0,
        ("kserve", "V2 infer, 1 row"): 0.25,
        ("model_server", "/invocations, 1 row"): 1.0,
        ("gunicorn_flask", "/invocations, 1 row"): 0.25,
        ("mlserver", "V2 infer, 100 rows"): None,  # ours has no result there
    }


def test_ours_is_set_against_its_own_ping_and_binary_batches_against_json() -> None:
    results = [
        result("model_server", "GET /ping", 10000),
        result("model_server", "V2 infer, 1 row", 8000),
        result("kserve", "V2 infer, 1 row", 1000),
        LoadResult("model_server", serving.JSON_BATCH.name, 100, 16, 2000, 200000, 1.0, 2.0, 0),
        LoadResult("model_server", serving.BINARY_BATCH.name, 100, 16, 3000, 300000, 1.0, 2.0, 0),
    ]
    assert serving.ratios_to_ping(results, "model_server") == {
        "V2 infer, 1 row": 0.8,
        serving.JSON_BATCH.name: 0.2,
        serving.BINARY_BATCH.name: 0.3,
    }
    assert serving.binary_over_json(results, "model_server") == 1.5
    assert serving.ratios_to_ping(results[1:], "model_server") == {}
    assert serving.binary_over_json(results[:3], "model_server") is None


def test_the_table_shows_every_result_with_its_ratio() -> None:
    results = [result("model_server", "V2 infer, 1 row", 4000), result("kserve", "V2 infer, 1 row", 1000)]
    lines = serving.table(results, serving.ratios_to_ours(results, "model_server"), {s.key: s.label for s in SERVERS})
    assert lines.splitlines()[0].startswith("| scenario (c=16) | server | req/s | p50 ms | p99 ms | errors |")
    assert (
        lines.splitlines()[-1] == "| V2 infer, 1 row | KServe Model + ONNX Runtime | 1,000 | 1.00 | 2.00 | 0 | 0.25 |"
    )


def stand_in_handler(wrong_row: int | None) -> type[BaseHTTPRequestHandler]:
    """A V2 server that gives every row its known class, except `wrong_row` (a misbehaving peer)."""

    class StandIn(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            labels = rows_and_labels(request["inputs"][0]["shape"][0])[1]
            if wrong_row is not None and wrong_row < len(labels):
                labels[wrong_row] = "setosa" if labels[wrong_row] != "setosa" else "virginica"
            body = json.dumps({"outputs": [{"name": "label", "datatype": "BYTES", "data": labels}]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    return StandIn


@contextmanager
def stand_in(wrong_row: int | None) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), stand_in_handler(wrong_row))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def bodies(tmp_path: Path) -> dict[tuple[str, int], Body]:
    return {("v2", rows): write_body(tmp_path, "v2", rows) for rows in (1, serving.BATCH_ROWS)}


def test_a_server_that_answers_right_passes_the_check(bodies: dict[tuple[str, int], Body]) -> None:
    with stand_in(wrong_row=None) as url:
        assert serving.check_server(BY_KEY["kserve"], url, bodies) == ["V2 infer, 1 row", "V2 infer, 100 rows"]


def test_a_server_that_answers_one_batch_row_wrongly_stops_the_benchmark(bodies: dict[tuple[str, int], Body]) -> None:
    with stand_in(wrong_row=57) as url, pytest.raises(WrongAnswerError, match=r"KServe .* answers wrongly .* row 57"):
        serving.check_server(BY_KEY["kserve"], url, bodies)


def test_ours_is_always_compared_and_first() -> None:
    assert [s.key for s in serving.chosen_servers(["kserve"])] == ["model_server", "kserve"]
    assert serving.chosen_servers([s.key for s in reversed(SERVERS)])[0] is OURS


def test_command_line_defaults_and_choices() -> None:
    args = serving.parse_args([])
    assert (args.duration, args.rounds, args.cold_starts, args.no_images) == (8, 3, 5, False)
    assert args.servers == [s.key for s in SERVERS]
    assert serving.parse_args(["--servers", "mlserver", "--rounds", "1"]).servers == ["mlserver"]


@pytest.mark.parametrize("arguments", [["--servers", "torchserve"], ["--rounds", "0"], ["--duration", "x"]])
def test_the_command_line_refuses_what_it_cannot_run(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        serving.parse_args(arguments)
    assert exited.value.code == 2
    assert "usage: delivery-bench serving" in capsys.readouterr().err


def test_without_wrk_it_says_how_to_install_it_and_runs_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(serving, "_benchmark", lambda args: pytest.fail("must not run without wrk"))
    assert serving.main([]) == 1
    assert capsys.readouterr().err.strip() == INSTALL_HINT
    assert "apt-get install wrk" in INSTALL_HINT


def test_a_wrong_answer_ends_the_run_with_status_1_and_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def wrong(args: object) -> int:
        raise WrongAnswerError("mlserver answers wrongly (v2, 1 rows): row 0")

    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/wrk")
    monkeypatch.setattr(serving, "_benchmark", wrong)
    assert serving.main(["--no-images"]) == 1
    assert "serving benchmark failed: mlserver answers wrongly" in capsys.readouterr().err
