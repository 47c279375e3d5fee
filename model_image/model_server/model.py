"""Load the ONNX graph, its external weight files and its metadata, verify they belong together, and predict.

Every file ``metadata.json`` lists is hashed from the very bytes onnxruntime is then given, so each file
is read once and what was verified is exactly what is served: a half-copied, swapped or tampered model
fails at start-up instead of answering with wrong labels.
"""

from __future__ import annotations

import hashlib
import json
import mmap
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from .errors import ModelLoadError

LABEL_OUTPUT = "label"
PROBABILITIES_OUTPUT = "probabilities"
OUTPUT_NAMES = (LABEL_OUTPUT, PROBABILITIES_OUTPUT)


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


def _check_sha256(path: Path, content: bytes | mmap.mmap, expected: str) -> None:
    digest = hashlib.sha256(content).hexdigest()
    if digest != expected:
        raise ModelLoadError(f"sha256 of {path} is {digest}, but metadata.json says {expected}")


@contextmanager
def _verified_weight_files(model_dir: Path, metadata: ModelMetadata) -> Iterator[dict[str, mmap.mmap]]:
    """Each external weight file mapped into memory and verified; unmapped on exit, once onnxruntime has
    copied what it needs. Mapping instead of reading avoids a second, anonymous copy of the weights."""
    with ExitStack() as stack:
        mapped: dict[str, mmap.mmap] = {}
        for name, expected in metadata.external_data.items():
            path = model_dir / name
            try:
                with path.open("rb") as file:
                    content = stack.enter_context(mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ))
            except (OSError, ValueError) as error:  # ValueError: mmap of an empty file
                raise ModelLoadError(f"cannot read model weights {path}: {error}") from error
            _check_sha256(path, content, expected)
            mapped[name] = content
        yield mapped


def session_options(threads: int) -> ort.SessionOptions:
    """One inference at a time per worker, on ``threads`` intra-op threads, fully optimised graph."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


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
        """Read ``metadata.json`` and every file it lists from ``model_dir``, verifying each sha256."""
        metadata = ModelMetadata.from_file(model_dir / "metadata.json")
        graph_path = model_dir / metadata.artifact
        try:
            graph = graph_path.read_bytes()
        except OSError as error:
            raise ModelLoadError(f"cannot read model artifact {graph_path}: {error}") from error
        _check_sha256(graph_path, graph, metadata.sha256)
        options = session_options(threads)
        with _verified_weight_files(model_dir, metadata) as weights:
            if weights:
                names = list(weights)
                options.add_external_initializers_from_files_in_memory(
                    names, [weights[name] for name in names], [len(weights[name]) for name in names]
                )
            try:
                session = ort.InferenceSession(graph, sess_options=options, providers=["CPUExecutionProvider"])
            except Exception as error:  # onnxruntime raises its own untyped errors for invalid graphs
                raise ModelLoadError(f"onnxruntime cannot load {graph_path}: {error}") from error
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
        label_index, probabilities = self._session.run(list(OUTPUT_NAMES), {self.metadata.input_name: features})
        return Prediction(labels=self._class_names[label_index].tolist(), probabilities=probabilities)
