"""Stateless stack: the image asset, its deploy-time copy and where consumers find the image URI."""

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from constructs import Construct

from config.settings import EnvironmentSettings
from ml_constructs import ModelImageRelease


class ModelImageStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: EnvironmentSettings,
        model_version: str,
        image_directory: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            termination_protection=settings.termination_protection,
            description=f"Model-serving image build and deploy-time copy ({settings.name})",
            **kwargs,
        )
        # Looked up by name rather than passed across stacks: no CloudFormation export ties the
        # stateful stack to this one, so either can change without the other's consent.
        repository = ecr.Repository.from_repository_name(self, "ModelRepository", settings.repository_name)
        self.release = ModelImageRelease(
            self,
            "ModelImage",
            directory=image_directory,
            repository=repository,
            model_version=model_version,
            platform=ecr_assets.Platform.custom(settings.image_platform),
            build_args={"BASE_IMAGE": settings.base_image} if settings.base_image else None,
            image_uri_parameter_name=settings.ssm_image_uri_parameter,
        )
        CfnOutput(self, "ImageTag", value=self.release.image_tag)
        CfnOutput(self, "ImageUri", value=self.release.image_uri)
        CfnOutput(self, "ImageUriParameter", value=self.release.image_uri_parameter.parameter_name)
