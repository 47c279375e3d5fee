"""Iris model server: SageMaker hosting contract and the Open Inference Protocol (KServe V2) on one port.

Kept import-light on purpose: the health-check command imports this package on every probe.
"""
