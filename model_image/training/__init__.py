"""Deterministic training and ONNX export of the iris model served by `model_server`."""
