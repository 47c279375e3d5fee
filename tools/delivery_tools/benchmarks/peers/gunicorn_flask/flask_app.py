"""Flask + a pickled scikit-learn pipeline on `/invocations`, served by gunicorn as teams deploy it.

Runs in its own virtual environment (requirements.txt beside it): `gunicorn -w 2 flask_app:app`.
`BENCH_MODEL` names the joblib file of the pipeline the project's training code fits.
"""

from __future__ import annotations

import os
from typing import Any

import joblib
import numpy as np
from flask import Flask, jsonify, request

CLASS_NAMES = ["setosa", "versicolor", "virginica"]

app = Flask(__name__)
model = joblib.load(os.environ.get("BENCH_MODEL", "model.joblib"))


@app.get("/ping")
def ping() -> Any:
    return jsonify(status="ok")


@app.post("/invocations")
def invocations() -> Any:
    features = np.asarray(request.get_json()["instances"], dtype=np.float32)
    probabilities = model.predict_proba(features)
    predictions = [
        {"label": CLASS_NAMES[int(row.argmax())], "probabilities": dict(zip(CLASS_NAMES, row.tolist(), strict=True))}
        for row in probabilities
    ]
    return jsonify(predictions=predictions)
