"""Load the ONNX graph, its external weight files and its metadata, verify they belong together, and predict.

Every file ``metadata.json`` lists is verified by sha256 before onnxruntime uses it, so a half-copied,
swapped or tampered model fails at start-up instead of answering with wrong labels. The graph is handed to
onnxruntime as the very bytes that were hashed. Weight files are hashed in one streaming pass and then
memory-mapped by onnxruntime, so they are read from disk once and never copied into the process (a 1 GB
model peaks at ~60 MB RSS, against ~3 GB when the hashed bytes are handed over); a check that each weight
file is still the one hashed (same inode, size and mtime) closes the gap between the two.

The image build may pass the weight files' digests as ``sha256sum`` recorded them when it copied those very
files (``recorded_sha256``): checking them against the metadata then reads no weights, so a code change does
not hash gigabytes again. ``serve`` never does this.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import onnxruntime as ort

from .errors import ModelLoadError

LABEL_OUTPUT = "label"
PROBABILITIES_OUTPUT = "probabilities"
OUTPUT_NAMES = (LABEL_OUTPUT, PROBABILITIES_OUTPUT)
EXTERNAL_DATA_FOLDER = "session.model_external_initializers_file_folder_path"


def _plain_file_name(name: str, path: Path) -> str:
    """A file name inside the model directory: no directories, no way out of it."""
    if not name or name in {".", ".."} or "/" in name or "\\" in name:
        raise ModelLoadError(f"model metadata {path} names {name!r}; files must sit directly in the model directory")
    return name


@dataclass(frozen=True)
class ModelMetadata:
    """The parts of ``metadata.json`` the server relies on.

    ``external_data`` maps each weight file the graph refers to (ONNX external data, how models over 2 GB
    are stored) to its sha256; it is absent for a self-contained graph, as in the original format.
    """

    name: str
    version: str
    artifact: str
    sha256: str
    input_name: str
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    raw: dict[str, Any]
    external_data: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: Path) -> ModelMetadata:
        """Parse and check ``metadata.json``; every problem names the file and the key."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ModelLoadError(f"cannot read model metadata {path}: {error}") from error
        try:
            external = raw.get("external_data", {})
            return cls(
                name=str(raw["name"]),
                version=str(raw["version"]),
                artifact=_plain_file_name(str(raw["artifact"]), path),
                sha256=str(raw["sha256"]),
                input_name=str(raw["input_name"]),
                feature_names=tuple(str(name) for name in raw["feature_names"]),
                class_names=tuple(str(name) for name in raw["class_names"]),
                raw=raw,
                external_data={_plain_file_name(str(k), path): str(v) for k, v in external.items()},
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise ModelLoadError(f"model metadata {path} lacks or mistypes key {error}") from error


def _check_sha256(path: Path, digest: str, expected: str) -> None:
    if digest != expected:
        raise ModelLoadError(f"sha256 of {path} is {digest}, but metadata.json says {expected}")


def _file_identity(status: os.stat_result) -> tuple[int, int, int, int]:
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


def _verify_weight_file(path: Path, expected: str, recorded: str | None) -> tuple[int, int, int, int]:
    """Hash ``path`` in one streaming pass (constant memory), unless its digest was ``recorded``; the identity
    of the file that was checked."""
    try:
        with path.open("rb") as file:
            digest = recorded or hashlib.file_digest(file, "sha256").hexdigest()
            identity = _file_identity(os.fstat(file.fileno()))
    except OSError as error:
        raise ModelLoadError(f"cannot read model weights {path}: {error}") from error
    _check_sha256(path, digest, expected)
    return identity


def read_sha256sum(path: Path) -> dict[str, str]:
    """File name -> sha256 from the output of ``sha256sum FILE...`` (text or binary mode lines)."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ModelLoadError(f"cannot read recorded digests {path}: {error}") from error
    recorded = {}
    for line in lines:
        digest, _, name = line.partition(" ")
        if len(digest) != 64 or not name[1:] or name[0] not in " *":
            raise ModelLoadError(f"{path}: {line!r} is not a line of sha256sum output")
        recorded[_plain_file_name(name[1:], path)] = digest
    return recorded


def _check_nothing_unlisted(model_dir: Path, metadata: ModelMetadata) -> None:
    """onnxruntime opens whatever weight files the graph names: any file metadata.json does not list (and so
    nobody verified) is refused rather than possibly loaded."""
    listed = {"metadata.json", metadata.artifact, *metadata.external_data}
    unlisted = sorted(p.name for p in model_dir.iterdir() if p.is_file() and p.name not in listed)
    if unlisted:
        raise ModelLoadError(f"{model_dir} holds files metadata.json does not list (and so cannot verify): {unlisted}")


def session_options(threads: int) -> ort.SessionOptions:
    """One inference at a time per worker, on ``threads`` intra-op threads, fully optimised graph."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


class Prediction(NamedTuple):
    """Model output for a batch: one label and one probability row per input row."""

    labels: list[str]
    probabilities: np.ndarray


class Model:
    """A verified ONNX classifier with the metadata that names its inputs and classes."""

    def __init__(self, metadata: ModelMetadata, session: ort.InferenceSession) -> None:
        self.metadata = metadata
        self._session = session
        self._class_names = np.asarray(metadata.class_names, dtype=object)
        self._output_names = list(OUTPUT_NAMES)
        self._check_signature()

    @classmethod
    def load(cls, model_dir: Path, threads: int = 1, recorded_sha256: Mapping[str, str] | None = None) -> Model:
        """Read ``metadata.json``, verify every file it lists in ``model_dir``, and open the graph.

        ``recorded_sha256``: digests of weight files hashed earlier from the same bytes (see the module's
        docstring); the graph itself is always hashed here, from the bytes handed to onnxruntime."""
        metadata = ModelMetadata.from_file(model_dir / "metadata.json")
        _check_nothing_unlisted(model_dir, metadata)
        graph_path = model_dir / metadata.artifact
        try:
            graph = graph_path.read_bytes()
        except OSError as error:
            raise ModelLoadError(f"cannot read model artifact {graph_path}: {error}") from error
        _check_sha256(graph_path, hashlib.sha256(graph).hexdigest(), metadata.sha256)
        recorded = recorded_sha256 or {}
        verified = {
            model_dir / name: _verify_weight_file(model_dir / name, sha, recorded.get(name))
            for name, sha in metadata.external_data.items()
        }
        options = session_options(threads)
        # The graph arrives as bytes, so onnxruntime needs to be told where its weight files are.
        options.add_session_config_entry(EXTERNAL_DATA_FOLDER, str(model_dir))
        try:
            session = ort.InferenceSession(graph, sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own untyped errors for invalid graphs
            raise ModelLoadError(f"onnxruntime cannot load {graph_path}: {error}") from error
        for path, identity in verified.items():
            if _file_identity(path.stat()) != identity:
                raise ModelLoadError(f"{path} changed while the model was loading")
        return cls(metadata, session)

    def _check_signature(self) -> None:
        """Fail fast if the graph's inputs/outputs disagree with the metadata."""
        inputs = {node.name: node for node in self._session.get_inputs()}
        outputs = {node.name for node in self._session.get_outputs()}
        feature_count = len(self.metadata.feature_names)
        node = inputs.get(self.metadata.input_name)
        if node is None or node.type != "tensor(float)" or node.shape[-1] != feature_count:
            raise ModelLoadError(
                f"model input {self.metadata.input_name!r} must be float [N, {feature_count}]; "
                f"the graph has {[(n.name, n.type, n.shape) for n in inputs.values()]}"
            )
        missing = set(OUTPUT_NAMES) - outputs
        if missing:
            raise ModelLoadError(f"model graph lacks outputs {sorted(missing)}")

    @property
    def feature_count(self) -> int:
        """Width of one input row."""
        return len(self.metadata.feature_names)

    def predict(self, features: np.ndarray) -> Prediction:
        """Labels and class probabilities for a float32 ``[N, features]`` matrix."""
        label_index, probabilities = self._session.run(self._output_names, {self.metadata.input_name: features})
        return Prediction(self._class_names[label_index].tolist(), probabilities)
