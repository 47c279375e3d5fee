"""Stacks compose constructs; one Stage per environment holds a stateful and a stateless stack."""

from stacks.model_delivery_stage import ModelDeliveryStage
from stacks.model_image_stack import ModelImageStack
from stacks.repository_stack import RepositoryStack

__all__ = ["ModelDeliveryStage", "ModelImageStack", "RepositoryStack"]
