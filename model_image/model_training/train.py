"""Train the iris classifier, export it to ONNX and write the metadata the server verifies.

Run with ``python -m model_training.train`` (``make train``) once the ``train`` extra is installed.
Everything is seeded, so re-running it reproduces the committed artifact byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import skl2onnx
import sklearn
from skl2onnx import to_onnx
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

MODEL_NAME = "iris"
MODEL_VERSION = "1.0.0"
SEED = 20240601
FEATURE_NAMES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
ONNX_INPUT_NAME = "input"
ONNX_OPSET = 17
DEFAULT_OUTPUT_DIR = Path(__file__).resolve().parent.parent / "model"


@dataclass(frozen=True)
class Dataset:
    """The bundled iris data as float32 features and integer class indices."""

    features: np.ndarray
    targets: np.ndarray
    class_names: tuple[str, ...]


def load_dataset() -> Dataset:
    """Load scikit-learn's bundled iris data (no download)."""
    iris = load_iris()
    return Dataset(
        features=np.asarray(iris.data, dtype=np.float32),
        targets=np.asarray(iris.target, dtype=np.int64),
        class_names=tuple(str(name) for name in iris.target_names),
    )


def build_pipeline() -> Pipeline:
    """Scaling + multinomial logistic regression: accurate, tiny, exact in ONNX."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=10.0, max_iter=1000, random_state=SEED))


def fit_pipeline(dataset: Dataset) -> Pipeline:
    """Fit the production model on the whole dataset (what the server serves)."""
    return build_pipeline().fit(dataset.features, dataset.targets)


def evaluate(dataset: Dataset) -> dict[str, float]:
    """Held-out and cross-validated metrics of the same recipe, recorded in the metadata."""
    x_train, x_test, y_train, y_test = train_test_split(
        dataset.features, dataset.targets, test_size=0.3, random_state=SEED, stratify=dataset.targets
    )
    held_out = build_pipeline().fit(x_train, y_train).predict(x_test)
    cv_scores = cross_val_score(build_pipeline(), dataset.features, dataset.targets, cv=5)
    return {
        "test_accuracy": round(float(accuracy_score(y_test, held_out)), 6),
        "test_macro_f1": round(float(f1_score(y_test, held_out, average="macro")), 6),
        "cv5_accuracy_mean": round(float(cv_scores.mean()), 6),
        "cv5_accuracy_std": round(float(cv_scores.std()), 6),
    }


def export_onnx(pipeline: Pipeline) -> bytes:
    """ONNX graph with a float32 [N, 4] input and plain tensors out (no ZipMap)."""
    model = to_onnx(
        pipeline,
        initial_types=[(ONNX_INPUT_NAME, skl2onnx.common.data_types.FloatTensorType([None, len(FEATURE_NAMES)]))],
        options={id(pipeline.steps[-1][1]): {"zipmap": False}},
        target_opset=ONNX_OPSET,
    )
    model.doc_string = f"{MODEL_NAME} {MODEL_VERSION}"
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def build_metadata(dataset: Dataset, artifact: bytes, metrics: dict[str, float]) -> dict[str, Any]:
    """What the server needs to interpret the artifact, and proof of which artifact it is."""
    return {
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "artifact": "iris.onnx",
        "sha256": hashlib.sha256(artifact).hexdigest(),
        "input_name": ONNX_INPUT_NAME,
        "feature_names": list(FEATURE_NAMES),
        "class_names": list(dataset.class_names),
        "training": {
            "dataset": "sklearn.datasets.load_iris",
            "rows": int(dataset.features.shape[0]),
            "seed": SEED,
            "estimator": "StandardScaler + LogisticRegression(C=10)",
            "scikit_learn": sklearn.__version__,
            "skl2onnx": skl2onnx.__version__,
            "onnx_opset": ONNX_OPSET,
        },
        "metrics": metrics,
    }


def train_and_export(output_dir: Path) -> dict[str, Any]:
    """Train, export and write ``iris.onnx`` + ``metadata.json`` into ``output_dir``."""
    dataset = load_dataset()
    artifact = export_onnx(fit_pipeline(dataset))
    metadata = build_metadata(dataset, artifact, evaluate(dataset))
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / metadata["artifact"]).write_bytes(artifact)
    (output_dir / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return metadata


def main(argv: list[str] | None = None) -> None:
    """CLI: ``python -m model_training.train [--output-dir DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR)
    args = parser.parse_args(argv)
    metadata = train_and_export(args.output_dir)
    print(json.dumps({"wrote": str(args.output_dir), "sha256": metadata["sha256"], **metadata["metrics"]}))


if __name__ == "__main__":
    main()
