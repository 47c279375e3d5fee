"""The served ONNX model is the trained scikit-learn model, verified and reproducible."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient

from model_server.errors import ModelLoadError
from model_server.model import Model
from model_training import train


@pytest.fixture(scope="module")
def dataset() -> train.Dataset:
    return train.load_dataset()


def test_served_model_equals_the_trained_model_on_the_whole_dataset(client: TestClient, dataset: train.Dataset) -> None:
    pipeline = train.fit_pipeline(dataset)
    expected_labels = [dataset.class_names[i] for i in pipeline.predict(dataset.features)]
    expected_probabilities = pipeline.predict_proba(dataset.features)

    response = client.post("/invocations", json={"instances": dataset.features.tolist()})
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert len(predictions) == len(dataset.features) == 150
    assert [p["label"] for p in predictions] == expected_labels
    served = np.array([list(p["probabilities"].values()) for p in predictions])
    np.testing.assert_allclose(served, expected_probabilities, atol=1e-5)


def test_retraining_reproduces_the_committed_artifact_byte_for_byte(tmp_path: Path, iris_model_dir: Path) -> None:
    metadata = train.train_and_export(tmp_path)
    assert (tmp_path / "iris.onnx").read_bytes() == (iris_model_dir / "iris.onnx").read_bytes()
    assert metadata == json.loads((iris_model_dir / "metadata.json").read_text())


def test_metadata_describes_the_artifact(iris_model_dir: Path) -> None:
    metadata = json.loads((iris_model_dir / "metadata.json").read_text())
    assert metadata["sha256"] == hashlib.sha256((iris_model_dir / metadata["artifact"]).read_bytes()).hexdigest()
    assert metadata["name"] == "iris"
    assert metadata["class_names"] == ["setosa", "versicolor", "virginica"]
    assert metadata["feature_names"] == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert metadata["metrics"]["test_accuracy"] >= 0.9


@pytest.fixture
def model_copy(tmp_path: Path, iris_model_dir: Path) -> Path:
    shutil.copytree(iris_model_dir, tmp_path / "model")
    return tmp_path / "model"


def test_a_tampered_artifact_is_refused(model_copy: Path) -> None:
    artifact = model_copy / "iris.onnx"
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    with pytest.raises(ModelLoadError, match=r"sha256 of .*iris\.onnx is"):
        Model.load(model_copy)


def test_missing_metadata_names_the_file(model_copy: Path) -> None:
    (model_copy / "metadata.json").unlink()
    with pytest.raises(ModelLoadError, match=r"metadata\.json"):
        Model.load(model_copy)


def test_metadata_without_a_key_names_the_key(model_copy: Path) -> None:
    path = model_copy / "metadata.json"
    metadata = json.loads(path.read_text())
    del metadata["class_names"]
    path.write_text(json.dumps(metadata))
    with pytest.raises(ModelLoadError, match="class_names"):
        Model.load(model_copy)


def test_metadata_that_disagrees_with_the_graph_is_refused(model_copy: Path) -> None:
    path = model_copy / "metadata.json"
    metadata = json.loads(path.read_text())
    metadata["input_name"] = "features"
    path.write_text(json.dumps(metadata))
    with pytest.raises(ModelLoadError, match="model input 'features'"):
        Model.load(model_copy)


def test_a_file_metadata_does_not_list_is_refused(model_copy: Path) -> None:
    """onnxruntime would open any weight file the graph names; an unlisted one was never verified."""
    (model_copy / "weights.bin").write_bytes(b"unverified")
    with pytest.raises(ModelLoadError, match=r"does not list .*\['weights\.bin'\]"):
        Model.load(model_copy)


@pytest.mark.parametrize("name", ["../iris.onnx", "sub/weights.bin", ".."])
def test_metadata_may_only_name_files_inside_the_directory(model_copy: Path, name: str) -> None:
    path = model_copy / "metadata.json"
    metadata = json.loads(path.read_text())
    metadata["external_data"] = {name: "0" * 64}
    path.write_text(json.dumps(metadata))
    with pytest.raises(ModelLoadError, match="files must sit directly in the model directory"):
        Model.load(model_copy)
