"""Fixes to moto so that a CDK app with a custom resource deploys as it does on AWS."""
