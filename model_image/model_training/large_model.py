"""Generate an ONNX classifier with the iris interface whose weights (any size, 1 GB by default) are stored
as ONNX external data beside the graph, with the metadata.json the server verifies.

For start-up and image benchmarks and the external-data tests; never committed. The graph reads only one
48-byte slice of the weights per request (a Gather whose index depends on the input, so onnxruntime cannot
fold it away at load time), so serving stays fast while loading moves every byte.

    python -m model_training.large_model OUT_DIR [--gigabytes 1] [--seed N]

Another seed gives other weights of the same size: a new model, as a retraining would make.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

from .train import FEATURE_NAMES, ONNX_INPUT_NAME, ONNX_OPSET

CLASS_NAMES = ("small", "medium", "large")
GRAPH_FILE = "model.onnx"
WEIGHTS_FILE = "weights.bin"
_SLICE = (len(FEATURE_NAMES), len(CLASS_NAMES))  # one [features, classes] weight matrix per slice
_CHUNK_SLICES = 1 << 16  # 3 MB written at a time
# The row a deploy's smoke test sends (metadata.json "smoke_test"), with the label the graph gives it.
SMOKE_INSTANCE = [5.1, 3.5, 1.4, 0.2]
DEFAULT_SEED = 20240601


def _matrix(seed: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The seeded weight matrix every slice holds."""
    return np.random.default_rng(seed).normal(size=_SLICE).astype(np.float32)


def _write_weights(path: Path, slices: int, seed: int) -> str:
    """``slices`` weight matrices and their sha256: the seeded matrix the graph reads first, then seeded random
    bytes, which gzip cannot shrink (as trained float weights barely shrink), so an image layer of them is as
    large as the model and a push or copy moves every byte."""
    matrix = _matrix(seed)
    random = np.random.default_rng(seed)
    digest = hashlib.sha256()
    with path.open("wb") as file:
        remaining, piece = slices - 1, matrix.tobytes()
        while True:
            file.write(piece)
            digest.update(piece)
            if not remaining:
                return digest.hexdigest()
            count = min(remaining, _CHUNK_SLICES)
            piece, remaining = random.bytes(count * matrix.nbytes), remaining - count


def _graph(slices: int) -> onnx.ModelProto:
    """input [N, 4] -> Gather one slice of the weights (index 0, derived from the input) -> MatMul -> Softmax."""
    weights = TensorProto()
    weights.name = "weights"
    weights.data_type = TensorProto.FLOAT
    weights.dims.extend([slices, *_SLICE])
    weights.data_location = TensorProto.EXTERNAL
    byte_count = slices * _SLICE[0] * _SLICE[1] * 4
    for key, value in (("location", WEIGHTS_FILE), ("offset", "0"), ("length", str(byte_count))):
        weights.external_data.add(key=key, value=value)
    nodes = [
        helper.make_node("ReduceMin", [ONNX_INPUT_NAME], ["smallest"], keepdims=0),
        helper.make_node("Mul", ["smallest", "zero"], ["zero_from_input"]),
        helper.make_node("Cast", ["zero_from_input"], ["slice_index"], to=TensorProto.INT64),
        helper.make_node("Gather", ["weights", "slice_index"], ["matrix"], axis=0),
        helper.make_node("MatMul", [ONNX_INPUT_NAME, "matrix"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "large",
        [helper.make_tensor_value_info(ONNX_INPUT_NAME, TensorProto.FLOAT, [None, len(FEATURE_NAMES)])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, len(CLASS_NAMES)]),
        ],
        initializer=[weights, helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])


def _expected_label(row: list[float], seed: int) -> str:
    """What the graph answers for `row`: the class of the largest logit of row @ slice 0."""
    logits = np.asarray(row, dtype=np.float32) @ _matrix(seed)
    return CLASS_NAMES[int(np.argmax(logits))]


def make_large_model(output_dir: Path, gigabytes: float, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """Write ``model.onnx``, ``weights.bin`` (``gigabytes`` GiB) and ``metadata.json`` into ``output_dir``."""
    slices = max(1, int(gigabytes * (1 << 30)) // (_SLICE[0] * _SLICE[1] * 4))
    output_dir.mkdir(parents=True, exist_ok=True)
    weights_sha256 = _write_weights(output_dir / WEIGHTS_FILE, slices, seed)
    graph = _graph(slices).SerializeToString()
    (output_dir / GRAPH_FILE).write_bytes(graph)
    metadata = {
        "name": "large",
        "version": "1.0.0",
        "artifact": GRAPH_FILE,
        "sha256": hashlib.sha256(graph).hexdigest(),
        "external_data": {WEIGHTS_FILE: weights_sha256},
        "input_name": ONNX_INPUT_NAME,
        "feature_names": list(FEATURE_NAMES),
        "class_names": list(CLASS_NAMES),
        "smoke_test": {"instances": [SMOKE_INSTANCE], "label": _expected_label(SMOKE_INSTANCE, seed)},
    }
    (output_dir / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return metadata


def main(argv: list[str] | None = None) -> None:
    """CLI: ``python -m model_training.large_model OUT_DIR [--gigabytes G]``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--gigabytes", type=float, default=1.0, help="size of weights.bin in GiB (default 1)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="another seed: other weights, a new model")
    args = parser.parse_args(argv)
    metadata = make_large_model(args.output_dir, args.gigabytes, args.seed)
    size = (args.output_dir / WEIGHTS_FILE).stat().st_size
    print(json.dumps({"wrote": str(args.output_dir), "weights_bytes": size, **metadata["external_data"]}))


if __name__ == "__main__":
    main()
