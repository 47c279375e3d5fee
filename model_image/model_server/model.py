"""Load the ONNX artifact and its metadata, verify they belong together, and predict.

The sha256 check refuses to serve an artifact other than the one the metadata describes, so a
half-copied or swapped model fails at start-up instead of answering with wrong labels.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

LABEL_OUTPUT = "label"
PROBABILITIES_OUTPUT = "probabilities"


class ModelLoadError(RuntimeError):
    """The model directory does not hold a usable, verified model."""


@dataclass(frozen=True)
class ModelMetadata:
    """The parts of ``metadata.json`` the server relies on."""

    name: str
    version: str
    artifact: str
    sha256: str
    input_name: str
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    raw: dict[str, Any]

    @classmethod
    def from_file(cls, path: Path) -> ModelMetadata:
        """Parse and check ``metadata.json``; every problem names the file and the key."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ModelLoadError(f"cannot read model metadata {path}: {error}") from error
        try:
            return cls(
                name=str(raw["name"]),
                version=str(raw["version"]),
                artifact=str(raw["artifact"]),
                sha256=str(raw["sha256"]),
                input_name=str(raw["input_name"]),
                feature_names=tuple(str(name) for name in raw["feature_names"]),
                class_names=tuple(str(name) for name in raw["class_names"]),
                raw=raw,
            )
        except (KeyError, TypeError) as error:
            raise ModelLoadError(f"model metadata {path} lacks or mistypes key {error}") from error


@dataclass(frozen=True)
class Prediction:
    """Model output for a batch: one label and one probability row per input row."""

    labels: list[str]
    probabilities: np.ndarray


class Model:
    """A verified ONNX classifier with the metadata that names its inputs and classes."""

    def __init__(self, metadata: ModelMetadata, session: ort.InferenceSession) -> None:
        self.metadata = metadata
        self._session = session
        self._class_names = np.asarray(metadata.class_names, dtype=object)
        self._check_signature()

    @classmethod
    def load(cls, model_dir: Path, threads: int = 1) -> Model:
        """Read ``metadata.json`` and the artifact it names from ``model_dir``, verifying the sha256."""
        metadata = ModelMetadata.from_file(model_dir / "metadata.json")
        artifact_path = model_dir / metadata.artifact
        try:
            artifact = artifact_path.read_bytes()
        except OSError as error:
            raise ModelLoadError(f"cannot read model artifact {artifact_path}: {error}") from error
        digest = hashlib.sha256(artifact).hexdigest()
        if digest != metadata.sha256:
            raise ModelLoadError(f"sha256 of {artifact_path} is {digest}, but metadata.json says {metadata.sha256}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            session = ort.InferenceSession(artifact, sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own untyped errors for invalid graphs
            raise ModelLoadError(f"onnxruntime cannot load {artifact_path}: {error}") from error
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
        missing = {LABEL_OUTPUT, PROBABILITIES_OUTPUT} - outputs
        if missing:
            raise ModelLoadError(f"model graph lacks outputs {sorted(missing)}")

    def predict(self, features: np.ndarray) -> Prediction:
        """Labels and class probabilities for a float32 ``[N, features]`` matrix."""
        label_index, probabilities = self._session.run(
            [LABEL_OUTPUT, PROBABILITIES_OUTPUT], {self.metadata.input_name: features}
        )
        return Prediction(labels=self._class_names[label_index].tolist(), probabilities=probabilities)
