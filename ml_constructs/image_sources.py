"""Where a release's image comes from: built here from a directory, or promoted from another repository.

Both give the copy what it needs: the URI to pull, the tag the image keeps in every environment, and a
grant helper for the copy's role. A promoted environment holds no DockerImageAsset, so its deploy builds
nothing: the bytes it runs are the bytes its source environment verified.
"""

from collections.abc import Mapping
from typing import Protocol

from aws_cdk import Arn, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from constructs import Construct

from ml_constructs.image_tag import deploy_tag


class ImageSource(Protocol):
    @property
    def image_uri(self) -> str: ...

    @property
    def image_tag(self) -> str: ...

    def grant_pull(self, grantee: iam.IGrantable) -> iam.Grant: ...


class ModelImageBuild(Construct):
    """Builds `directory` as a DockerImageAsset; the tag is `<model version>-<asset hash prefix>`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        directory: str,
        model_version: str,
        platform: ecr_assets.Platform,
        build_args: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.asset = ecr_assets.DockerImageAsset(
            self, "Asset", directory=directory, platform=platform, build_args=dict(build_args or {}) or None
        )
        self.image_tag = deploy_tag(model_version, self.asset.asset_hash)
        self.image_uri = self.asset.image_uri

    def grant_pull(self, grantee: iam.IGrantable) -> iam.Grant:
        return self.asset.repository.grant_pull(grantee)


class PromotedImage(Construct):
    """An image already released under `image_tag` in another environment's repository (any account/region)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository_name: str,
        account: str,
        region: str,
        image_tag: str,
    ) -> None:
        super().__init__(scope, construct_id)
        arn = Arn.format(
            {"service": "ecr", "account": account, "region": region, "resource": "repository"},
            Stack.of(self),
        )
        self.repository = ecr.Repository.from_repository_attributes(
            self, "Repository", repository_arn=f"{arn}/{repository_name}", repository_name=repository_name
        )
        self.image_tag = image_tag
        self.image_uri = self.repository.repository_uri_for_tag(image_tag)

    def grant_pull(self, grantee: iam.IGrantable) -> iam.Grant:
        return self.repository.grant_pull(grantee)
