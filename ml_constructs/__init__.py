"""Reusable constructs of this app: plain typed props in, resources and grant helpers out.

Not named `constructs/`: a top-level package of that name would shadow the `constructs` library
that every CDK app imports (`from constructs import Construct`, aws/aws-cdk#19301).
"""

from ml_constructs.encrypted_repository import EncryptedModelRepository
from ml_constructs.image_sources import ImageSource, ModelImageBuild, RepositoryImage
from ml_constructs.lifecycle_rules import lifecycle_rules
from ml_constructs.model_image_release import ImageCopyRole, ModelImageRelease
from ml_constructs.stateful import STATEFUL_METADATA_KEY, mark_stateful

__all__ = [
    "STATEFUL_METADATA_KEY",
    "EncryptedModelRepository",
    "ImageCopyRole",
    "ImageSource",
    "ModelImageBuild",
    "ModelImageRelease",
    "RepositoryImage",
    "lifecycle_rules",
    "mark_stateful",
]
