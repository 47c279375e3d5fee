"""Stateless stack: where the image comes from, its deploy-time copy, and where consumers find it."""

from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from constructs import Construct

from config.settings import EnvironmentSettings
from ml_constructs import ImageSource, ModelImageBuild, ModelImageRelease, RepositoryImage

# Stack outputs that say what image the environment runs; reviews read them from the templates.
IMAGE_ORIGIN_OUTPUT = "ImageOrigin"
IMAGE_TAG_OUTPUT = "ImageTag"
# The copy function, sized by measurement (docs/image-sizes.md): it streams every blob, so its memory does
# not grow with the image and /tmp holds nothing of it; memory buys the CPU share that hashing and TLS need.
COPY_MEMORY_MIB = 512
COPY_EPHEMERAL_STORAGE_MIB = 512


@dataclass(frozen=True)
class BuildFrom:
    """The environment builds `directory` itself (the start of a promotion chain)."""

    directory: str
    model_version: str


@dataclass(frozen=True)
class PromoteFrom:
    """The environment copies `image_tag` from the repository of `source` (no build)."""

    source: EnvironmentSettings
    image_tag: str


@dataclass(frozen=True)
class RollBackTo:
    """The environment goes back to `image_tag`, already in its own repository (no build, no new bytes)."""

    image_tag: str


ImageFrom = BuildFrom | PromoteFrom | RollBackTo


class ModelImageStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: EnvironmentSettings,
        image_from: ImageFrom,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            termination_protection=settings.termination_protection,
            description=f"Model-serving image and its deploy-time copy ({settings.name})",
            **kwargs,
        )
        # Looked up by name rather than passed across stacks: no CloudFormation export ties the
        # stateful stack to this one, so either can change without the other's consent.
        repository = ecr.Repository.from_repository_name(self, "ModelRepository", settings.repository_name)
        self.image_source = self._source(settings, image_from)
        self.release = ModelImageRelease(
            self,
            "ModelImage",
            source=self.image_source,
            repository=repository,
            image_uri_parameter_name=settings.ssm_image_uri_parameter,
            image_tag_parameter_name=settings.ssm_image_tag_parameter,
            copy_memory_mib=COPY_MEMORY_MIB,
            copy_ephemeral_storage_mib=COPY_EPHEMERAL_STORAGE_MIB,
        )
        CfnOutput(self, IMAGE_ORIGIN_OUTPUT, value=_origin(image_from))
        CfnOutput(self, IMAGE_TAG_OUTPUT, value=self.release.image_tag)
        CfnOutput(self, "ImageDigest", value=self.release.image_digest)
        CfnOutput(self, "ImageUri", value=self.release.image_uri)
        CfnOutput(self, "ImageUriParameter", value=self.release.image_uri_parameter.parameter_name)

    def _source(self, settings: EnvironmentSettings, image_from: ImageFrom) -> ImageSource:
        if isinstance(image_from, BuildFrom):
            return ModelImageBuild(
                self,
                "Build",
                directory=image_from.directory,
                model_version=image_from.model_version,
                platform=ecr_assets.Platform.custom(settings.image_platform),
                build_args={"BASE_IMAGE": settings.base_image} if settings.base_image else None,
                # The local cloud deploys from the checkout that synthesized, never from a moved cloud assembly.
                stage_context=settings.target == "aws",
            )
        # A promotion reads the previous environment's repository; a rollback this environment's own.
        construct_id, holder = (
            ("PromotedFrom", image_from.source) if isinstance(image_from, PromoteFrom) else ("RolledBackTo", settings)
        )
        return RepositoryImage(
            self,
            construct_id,
            repository_name=holder.repository_name,
            account=holder.account,
            region=holder.region,
            image_tag=image_from.image_tag,
        )


def _origin(image_from: ImageFrom) -> str:
    if isinstance(image_from, BuildFrom):
        return "built here"
    if isinstance(image_from, PromoteFrom):
        return f"promoted from {image_from.source.name}"
    return f"rolled back to {image_from.image_tag}"
