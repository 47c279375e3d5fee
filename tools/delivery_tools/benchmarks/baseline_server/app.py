"""The naive baseline in the style teams ship today: Flask + a pickled scikit-learn model.

It exists only to be measured against; it is deliberately not hardened (no validation, root, dev server).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask, Response, jsonify, request

MODEL_PATH = Path(os.environ.get("BASELINE_MODEL", Path(__file__).with_name("model.pkl")))
CLASS_NAMES = ["setosa", "versicolor", "virginica"]

app = Flask(__name__)
with MODEL_PATH.open("rb") as model_file:
    model = pickle.load(model_file)


@app.route("/ping", methods=["GET"])
def ping() -> Any:
    return jsonify(status="ok")


@app.route("/invocations", methods=["POST"])
def invocations() -> Any:
    features = np.asarray(request.get_json()["instances"], dtype=np.float64)
    probabilities = model.predict_proba(features)
    labels = model.predict(features)
    predictions = [
        {"label": CLASS_NAMES[label], "probabilities": dict(zip(CLASS_NAMES, row.tolist(), strict=True))}
        for label, row in zip(labels, probabilities, strict=True)
    ]
    return Response(jsonify(predictions=predictions).get_data(), mimetype="application/json")


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "8080")), threaded=True)
