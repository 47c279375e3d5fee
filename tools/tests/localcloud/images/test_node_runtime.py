"""The nodejs runtime of the Lambda image: the project's pinned Node.js running handlers through the shim.

The CDK's AwsCustomResource handler is a `nodejs*` function (`index.handler`); these tests run
`node_runtime.js` exactly as the image does, through the same Runtime API shim, with real handlers.
"""

import json
from pathlib import Path

import pytest

from delivery_tools.common.cdk import pinned_node
from delivery_tools.localcloud.images.lambda_runtime import runtime_api

PROJECT_ROOT = Path(__file__).resolve().parents[4]
HANDLERS = """
exports.handler = async (event, context) => ({ doubled: event.n * 2, requestIdSet: context.awsRequestId.length > 0 });
exports.fails = async () => { throw new Error("The image with imageId {imageTag:'x'} does not exist"); };
exports.notAFunction = 42;
"""


@pytest.fixture
def task_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "index.js").write_text(HANDLERS)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    return tmp_path


def run(handler: str, event: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, object], bool]:
    monkeypatch.setenv("_HANDLER", handler)
    command = [str(pinned_node(PROJECT_ROOT)), str(runtime_api.NODE_RUNTIME)]
    result, failed = runtime_api.invoke(command, json.dumps(event).encode(), 30)
    answer: dict[str, object] = json.loads(result)
    return answer, failed


def test_a_handler_gets_the_event_and_a_context_and_its_result_is_the_answer(
    task_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("index.handler", {"n": 21}, monkeypatch) == ({"doubled": 42, "requestIdSet": True}, False)


def test_a_thrown_error_is_the_invocation_error_with_its_message(
    task_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer, failed = run("index.fails", {}, monkeypatch)
    assert failed
    assert answer["errorType"] == "Error"
    assert answer["errorMessage"] == "The image with imageId {imageTag:'x'} does not exist"


def test_a_handler_that_is_not_a_function_is_an_init_error(task_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answer, failed = run("index.notAFunction", {}, monkeypatch)
    assert failed and answer["errorType"] == "TypeError"
    assert "index.notAFunction is not a function" in str(answer["errorMessage"])


def test_the_runtime_is_chosen_from_the_code(tmp_path: Path) -> None:
    assert runtime_api.runtime_command("index.handler", tmp_path) is None
    (tmp_path / "index.js").write_text(HANDLERS)
    assert runtime_api.runtime_command("index.handler", tmp_path) == [
        str(runtime_api.NODE),
        str(runtime_api.NODE_RUNTIME),
    ]
    (tmp_path / "bootstrap").write_text("#!/bin/sh\n")
    assert runtime_api.runtime_command("index.handler", tmp_path) == [str(tmp_path / "bootstrap")]
