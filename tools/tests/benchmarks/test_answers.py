"""Request bodies per protocol, and the check that refuses a server whose predictions are wrong."""

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris

from delivery_tools.benchmarks.answers import (
    CLASS_NAMES,
    HEADER_LENGTH,
    JSON_HEADERS,
    KNOWN_ROWS,
    WrongAnswerError,
    check_answer,
    check_response,
    labels_in_answer,
    labels_in_binary_answer,
    request_body,
    rows_and_labels,
    write_body,
)


def v2_labels(labels: list[str]) -> dict[str, object]:
    """An answer in the shape our server and the KServe peer give: class names in a BYTES tensor."""
    return {
        "model_name": "iris",
        "outputs": [
            {"name": "label", "datatype": "BYTES", "shape": [len(labels)], "data": labels},
            {"name": "probabilities", "datatype": "FP32", "shape": [len(labels), 3], "data": [0.0] * 3 * len(labels)},
        ],
    }


def mlserver_indices(indices: list[int]) -> dict[str, object]:
    """An answer in the shape MLServer's scikit-learn runtime gives: class indices in a `predict` INT64 tensor."""
    return {"outputs": [{"name": "predict", "datatype": "INT64", "shape": [len(indices), 1], "data": indices}]}


def test_the_known_rows_are_iris_rows_with_their_true_class() -> None:
    iris = load_iris()
    for row, label in KNOWN_ROWS:
        matches = np.flatnonzero(np.all(np.isclose(iris.data, row), axis=1))
        assert len(matches) >= 1, row
        assert {iris.target_names[iris.target[i]] for i in matches} == {label}


def test_batches_cycle_through_the_known_rows() -> None:
    rows, labels = rows_and_labels(6)
    assert rows[4] == list(KNOWN_ROWS[0][0])
    assert labels == ["setosa", "virginica", "versicolor", "setosa", "setosa", "virginica"]


def test_bodies_of_both_protocols(tmp_path: Path) -> None:
    rows, _ = rows_and_labels(2)
    assert request_body("sagemaker", rows) == {"instances": rows}
    tensor = request_body("v2", rows)["inputs"][0]
    assert (tensor["name"], tensor["datatype"], tensor["shape"]) == ("input", "FP32", [2, 4])
    assert tensor["data"] == rows[0] + rows[1]
    body = write_body(tmp_path, "v2", 100)
    written = json.loads(body.path.read_text())
    assert written["inputs"][0]["shape"] == [100, 4] and len(written["inputs"][0]["data"]) == 400
    assert body.headers == JSON_HEADERS


def test_the_binary_body_is_a_json_header_then_the_raw_float32_rows(tmp_path: Path) -> None:
    body = write_body(tmp_path, "v2_binary", 100)
    content = body.path.read_bytes()
    split = int(body.headers[HEADER_LENGTH])
    assert set(body.headers) == {HEADER_LENGTH}  # tritonclient sends no Content-Type
    header = json.loads(content[:split])
    assert header["inputs"] == [
        {"name": "input", "shape": [100, 4], "datatype": "FP32", "parameters": {"binary_data_size": 1600}}
    ]
    assert header["parameters"] == {"binary_data_output": True}
    rows = np.frombuffer(content[split:], dtype="<f4").reshape(100, 4)
    np.testing.assert_array_equal(rows, np.asarray(rows_and_labels(100)[0], dtype=np.float32))


def binary_answer(labels: list[str]) -> tuple[bytes, dict[str, str]]:
    """An answer with binary outputs, as the binary tensor data extension lays it out."""
    tail = b"".join(len(label).to_bytes(4, "little") + label.encode() for label in labels)
    size = {"binary_data_size": len(tail)}
    outputs = [{"name": "label", "datatype": "BYTES", "shape": [len(labels)], "parameters": size}]
    header = json.dumps({"model_name": "iris", "outputs": outputs}).encode()
    return header + tail, {HEADER_LENGTH: str(len(header))}


def test_labels_are_read_from_a_binary_answer_as_tritonclient_reads_it() -> None:
    content, headers = binary_answer(["setosa", "virginica"])
    assert labels_in_binary_answer(content, headers) == ["setosa", "virginica"]
    check_response("ours", "v2_binary", 2, content, headers)
    with pytest.raises(WrongAnswerError, match=r"ours answers wrongly \(v2_binary, 2 rows\): row 0"):
        check_response("ours", "v2_binary", 2, *binary_answer(["virginica", "virginica"]))


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"not json", {}),
        (b'{"outputs": []}', {}),
        (binary_answer(["setosa"])[0], {HEADER_LENGTH: "x"}),
    ],
)
def test_a_binary_answer_without_labels_is_refused(content: bytes, headers: dict[str, str]) -> None:
    with pytest.raises(WrongAnswerError, match="binary"):
        labels_in_binary_answer(content, headers)


def test_json_responses_are_checked_from_their_bytes() -> None:
    check_response("flask", "sagemaker", 1, b'{"predictions": [{"label": "setosa"}]}', {})
    with pytest.raises(WrongAnswerError, match="flask answered sagemaker with no JSON"):
        check_response("flask", "sagemaker", 1, b"<html>", {})


def test_labels_are_read_from_every_answer_shape() -> None:
    assert labels_in_answer("sagemaker", {"predictions": [{"label": "virginica", "probabilities": {}}]}) == [
        "virginica"
    ]
    assert labels_in_answer("v2", v2_labels(["setosa", "versicolor"])) == ["setosa", "versicolor"]
    assert labels_in_answer("v2", mlserver_indices([2, 0])) == ["virginica", "setosa"]


def test_right_answers_pass() -> None:
    _, labels = rows_and_labels(100)
    check_answer("ours", "v2", 100, v2_labels(labels))
    check_answer("mlserver", "v2", 100, mlserver_indices([CLASS_NAMES.index(label) for label in labels]))
    check_answer("flask", "sagemaker", 100, {"predictions": [{"label": label} for label in labels]})


def test_one_wrong_class_is_refused_naming_the_server_and_the_row() -> None:
    _, labels = rows_and_labels(100)
    labels[2] = "virginica"  # row 2 is versicolor
    with pytest.raises(WrongAnswerError, match=r"kserve answers wrongly \(v2, 100 rows\): row 2 .* 'versicolor'"):
        check_answer("kserve", "v2", 100, v2_labels(labels))


def test_wrong_class_indices_are_refused() -> None:
    with pytest.raises(WrongAnswerError, match="mlserver answers wrongly"):
        check_answer("mlserver", "v2", 1, mlserver_indices([1]))  # row 0 is setosa (0)


def test_too_few_predictions_are_refused() -> None:
    with pytest.raises(WrongAnswerError, match="answered 1 predictions for 4 rows"):
        check_answer("flask", "sagemaker", 4, {"predictions": [{"label": "setosa"}]})


@pytest.mark.parametrize(
    ("protocol", "answer"),
    [
        ("sagemaker", {"error": "boom"}),
        ("v2", {"outputs": [{"name": "probabilities", "datatype": "FP32", "data": [1.0, 0.0, 0.0]}]}),
        ("v2", mlserver_indices([7])),
        ("v2", ["not", "an", "object"]),
    ],
)
def test_an_answer_without_predictions_is_refused(protocol: str, answer: object) -> None:
    with pytest.raises(WrongAnswerError, match=r"no .* prediction in the answer"):
        check_answer("peer", protocol, 1, answer)
