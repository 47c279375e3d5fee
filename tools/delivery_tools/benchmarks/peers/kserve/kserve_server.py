"""KServe's Python model server with a custom `Model` on onnxruntime, serving the project's ONNX file.

Runs in its own virtual environment (requirements.txt beside it):
`python kserve_server.py --model_dir DIR --model_name iris --http_port P --workers 2 --enable_grpc false`.
It answers the Open Inference Protocol like ours: a `label` BYTES tensor of class names and a `probabilities`
FP32 tensor. KServe binds its REST server to 0.0.0.0 with no option to change it; here it binds to the
loopback address (the benchmark sends traffic to nothing else), and gRPC ([::] only) is off.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import uvicorn
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer, model_server
from kserve.utils.utils import generate_uuid


class LoopbackConfig(uvicorn.Config):
    """uvicorn's configuration with the listening address forced to 127.0.0.1."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "host": "127.0.0.1"})


class OnnxIris(Model):  # type: ignore[misc]  # kserve ships no type information
    """The ONNX classifier, reloaded in every worker process (an onnxruntime session cannot be pickled)."""

    def __init__(self, name: str, model_dir: Path) -> None:
        super().__init__(name)
        self.model_dir = model_dir
        self.session: ort.InferenceSession | None = None
        self.input_name = ""
        self.class_names = np.asarray([], dtype=object)
        self.load()

    def load(self) -> bool:
        metadata = json.loads((self.model_dir / "metadata.json").read_text(encoding="utf-8"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(self.model_dir / metadata["artifact"]), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.input_name = metadata["input_name"]
        self.class_names = np.asarray(metadata["class_names"], dtype=object)
        self.ready = True
        return True

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "session": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.load()

    def predict(self, payload: InferRequest, headers: dict[str, str] | None = None) -> InferResponse:
        assert self.session is not None
        features = payload.inputs[0].as_numpy().astype(np.float32, copy=False)
        label_index, probabilities = self.session.run(["label", "probabilities"], {self.input_name: features})
        labels = InferOutput(name="label", shape=[len(label_index)], datatype="BYTES")
        labels.set_data_from_numpy(self.class_names[label_index], binary_data=False)
        scores = InferOutput(name="probabilities", shape=list(probabilities.shape), datatype="FP32")
        scores.set_data_from_numpy(probabilities, binary_data=False)
        return InferResponse(
            response_id=payload.id or generate_uuid(),
            model_name=self.name,
            infer_outputs=[labels, scores],
            model_version="1.0.0",
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(parents=[model_server.parser])
    parser.add_argument("--model_dir", type=Path, required=True)
    args, _ = parser.parse_known_args()
    uvicorn.Config = LoopbackConfig  # type: ignore[misc]  # KServe's REST server reads it when it starts
    ModelServer().start([OnnxIris(args.model_name, args.model_dir)])
