"""The large-model generator: ONNX external data the server verifies, loads and serves end to end."""

from __future__ import annotations

import gzip
import json
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from model_server.errors import ModelLoadError
from model_server.model import Model, read_sha256sum
from model_training.large_model import make_large_model

ServerProcess = tuple["subprocess.Popen[bytes]", int]
MEGABYTES_64 = 1 / 16


@pytest.fixture(scope="module")
def large_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("large")
    make_large_model(directory, MEGABYTES_64)
    return directory


def test_weights_are_external_and_listed_with_their_sha256(large_model_dir: Path) -> None:
    metadata = json.loads((large_model_dir / "metadata.json").read_text())
    assert set(metadata["external_data"]) == {"weights.bin"}
    assert (large_model_dir / "weights.bin").stat().st_size == 64 * 1024 * 1024 // 48 * 48
    assert (large_model_dir / "model.onnx").stat().st_size < 4096


def test_the_weights_do_not_compress(large_model_dir: Path) -> None:
    """A registry stores layers gzipped: weights that compressed away would make a large image small."""
    sample = (large_model_dir / "weights.bin").read_bytes()[: 1 << 20]
    assert len(gzip.compress(sample, compresslevel=6)) > 0.99 * len(sample)


def test_the_server_loads_and_runs_it(large_model_dir: Path) -> None:
    model = Model.load(large_model_dir)
    prediction = model.predict(np.array([[5.1, 3.5, 1.4, 0.2], [1, 1, 1, 1]], np.float32))
    assert set(prediction.labels) <= {"small", "medium", "large"}
    assert prediction.probabilities.shape == (2, 3)


def test_the_smoke_sample_in_the_metadata_is_what_the_model_answers(large_model_dir: Path) -> None:
    sample = json.loads((large_model_dir / "metadata.json").read_text())["smoke_test"]
    prediction = Model.load(large_model_dir).predict(np.array(sample["instances"], np.float32))
    assert list(prediction.labels) == [sample["label"]]


def test_another_seed_is_another_model_of_the_same_size(large_model_dir: Path, tmp_path: Path) -> None:
    other = make_large_model(tmp_path, MEGABYTES_64, seed=7)
    assert other["external_data"] != json.loads((large_model_dir / "metadata.json").read_text())["external_data"]
    assert (tmp_path / "weights.bin").stat().st_size == (large_model_dir / "weights.bin").stat().st_size
    sample = other["smoke_test"]
    assert list(Model.load(tmp_path).predict(np.array(sample["instances"], np.float32)).labels) == [sample["label"]]


def test_one_flipped_byte_in_the_weights_is_refused(large_model_dir: Path, tmp_path: Path) -> None:
    for name in ("metadata.json", "model.onnx"):
        (tmp_path / name).write_bytes((large_model_dir / name).read_bytes())
    weights = bytearray((large_model_dir / "weights.bin").read_bytes())
    weights[len(weights) // 3] ^= 0x80
    (tmp_path / "weights.bin").write_bytes(bytes(weights))
    with pytest.raises(ModelLoadError, match=r"sha256 of .*weights\.bin is"):
        Model.load(tmp_path)


def test_served_end_to_end_over_the_open_inference_protocol(
    large_model_dir: Path, start_server: Callable[..., ServerProcess]
) -> None:
    _, port = start_server(MODEL_DIR=str(large_model_dir))
    request = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4], "data": [5.1, 3.5, 1.4, 0.2]}]}
    post = urllib.request.Request(
        f"http://127.0.0.1:{port}/v2/models/large/infer",
        data=json.dumps(request).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(post, timeout=10) as response:
        body = json.load(response)
    assert body["model_name"] == "large"
    assert body["outputs"][0]["data"][0] in {"small", "medium", "large"}


def sha256sum(directory: Path, *options: str) -> Path:
    """What the image build records: coreutils' `sha256sum` of the weight files, in `directory`."""
    recorded = directory.parent / f"{directory.name}{''.join(options)}.sha256"
    listed = subprocess.run(["sha256sum", *options, "weights.bin"], cwd=directory, capture_output=True, check=True)
    recorded.write_bytes(listed.stdout)
    return recorded


@pytest.mark.parametrize("options", [(), ("--binary",)])
def test_digests_sha256sum_recorded_are_read_back(large_model_dir: Path, options: tuple[str, ...]) -> None:
    metadata = json.loads((large_model_dir / "metadata.json").read_text())
    assert read_sha256sum(sha256sum(large_model_dir, *options)) == metadata["external_data"]


@pytest.mark.parametrize(
    "line", ["not a digest line", f"{'0' * 64}  ../weights.bin", f"{'0' * 63}  weights.bin", f"{'0' * 64}  "]
)
def test_a_line_that_sha256sum_does_not_write_is_refused(tmp_path: Path, line: str) -> None:
    (tmp_path / "digests").write_text(line + "\n")
    with pytest.raises(ModelLoadError, match=r"digests"):
        read_sha256sum(tmp_path / "digests")


def test_recorded_digests_spare_hashing_the_weights_again(
    large_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = read_sha256sum(sha256sum(large_model_dir))

    def no_second_pass(*_: object) -> None:
        raise AssertionError("weights hashed although their digest was recorded")

    monkeypatch.setattr("model_server.model.hashlib.file_digest", no_second_pass)
    sample = json.loads((large_model_dir / "metadata.json").read_text())["smoke_test"]
    model = Model.load(large_model_dir, recorded_sha256=recorded)
    assert list(model.predict(np.array(sample["instances"], np.float32)).labels) == [sample["label"]]


def test_a_recorded_digest_the_metadata_does_not_list_is_refused(large_model_dir: Path) -> None:
    """Weights that changed after the metadata was written fail the build as they fail `serve`."""
    with pytest.raises(ModelLoadError, match=r"sha256 of .*weights\.bin is f{64}, but metadata\.json says"):
        Model.load(large_model_dir, recorded_sha256={"weights.bin": "f" * 64})
