"""Reusable constructs of this app.

Not named `constructs/`: a top-level package of that name would shadow the `constructs` library
that every CDK app imports (`from constructs import Construct`).
"""

from ml_constructs.encrypted_repository import EncryptedModelRepository
from ml_constructs.lifecycle_rules import lifecycle_rules
from ml_constructs.model_image_release import ModelImageRelease

__all__ = ["EncryptedModelRepository", "ModelImageRelease", "lifecycle_rules"]
