"""Pydantic models of cdk.json's `environments` context: every rule a bad value can break lives here."""

from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from config import rules


def _checked(rule: Callable[[str], object], allowed: str) -> AfterValidator:
    """A validator that keeps a value `rule` accepts and otherwise names what is `allowed`."""

    def check(value: str) -> str:
        if not rule(value):
            raise ValueError(allowed)
        return value

    return AfterValidator(check)


AccountId = Annotated[str, _checked(rules.ACCOUNT_ID.match, "must be a 12-digit AWS account id")]
Region = Annotated[
    str,
    _checked(
        lambda value: value in rules.known_regions(),
        "must be an AWS region known to aws-cdk-lib, e.g. us-east-1 or eu-west-1",
    ),
]
RepositoryName = Annotated[
    str,
    _checked(
        rules.REPOSITORY_NAME.match,
        "must be 2-256 chars of lowercase letters, digits and . _ - / "
        "(each part starting and ending with a letter or digit)",
    ),
]
TagPrefix = Annotated[
    str,
    _checked(
        rules.TAG_PREFIX.match,
        "can never match an image tag, so the keep rule would still expire those images; "
        "a prefix is 1-128 chars of [A-Za-z0-9_.-] starting with [A-Za-z0-9_] (no wildcards)",
    ),
]
PrincipalArn = Annotated[
    str,
    _checked(rules.PRINCIPAL_ARN.match, "must be an IAM role or user ARN, e.g. arn:aws:iam::123456789012:role/ci-push"),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class LifecycleSettings(_Strict):
    """What the repository keeps: see ml_constructs.lifecycle_rules for how ECR applies it."""

    untagged_expiry_days: int = Field(default=7, ge=1, le=3650)
    max_image_count: int = Field(default=50, ge=1, le=9999)
    protected_tag_prefixes: tuple[TagPrefix, ...] = Field(default=("release",), max_length=8)

    @model_validator(mode="after")
    def _prefixes_unique(self) -> "LifecycleSettings":
        if len(set(self.protected_tag_prefixes)) != len(self.protected_tag_prefixes):
            raise ValueError("protected_tag_prefixes must not repeat a prefix (ECR rejects duplicate rules)")
        return self


class EnvironmentSettings(_Strict):
    """One deployment target: an account/region pair and how its repository behaves."""

    name: str = Field(pattern=rules.ENVIRONMENT_NAME.pattern)
    account: AccountId
    region: Region
    repository_name: RepositoryName
    production: bool = False
    removal_policy: Literal["retain", "destroy"] = "retain"
    termination_protection: bool = Field(default=False, validate_default=True)
    image_platform: Literal["linux/amd64", "linux/arm64"] = "linux/amd64"
    pull_account_ids: tuple[AccountId, ...] = ()
    push_principal_arns: tuple[PrincipalArn, ...] = ()
    lifecycle: LifecycleSettings = LifecycleSettings()
    base_image: str | None = Field(default=None, min_length=1)
    deployed_by_github: bool = True
    # "local": deployed into the account-free local cloud (see docs/local-cloud.md), never to AWS.
    target: Literal["aws", "local"] = "aws"
    # Copy the image that this environment's repository received from there instead of building it.
    promote_from: str | None = Field(default=None, pattern=rules.ENVIRONMENT_NAME.pattern)

    @field_validator("removal_policy")
    @classmethod
    def _production_retains(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("production") and value != "retain":
            raise ValueError("a production environment must use 'retain'")
        return value

    @field_validator("termination_protection")
    @classmethod
    def _production_is_protected(cls, value: bool, info: ValidationInfo) -> bool:
        if info.data.get("production") and not value:
            raise ValueError("a production environment must enable termination protection")
        return value

    @model_validator(mode="after")
    def _promotion_builds_nothing(self) -> "EnvironmentSettings":
        if self.promote_from == self.name:
            raise ValueError(f"promote_from = {self.name!r}: an environment cannot promote from itself")
        if self.promote_from and self.base_image:
            raise ValueError(
                f"base_image = {self.base_image!r}: a promoted environment builds nothing; "
                f"set it on the environment that builds (the start of the chain of {self.promote_from!r})"
            )
        return self

    @model_validator(mode="after")
    def _local_is_not_deployed_by_github(self) -> "EnvironmentSettings":
        if self.is_local and self.deployed_by_github:
            raise ValueError("target 'local' needs deployed_by_github: false (GitHub cannot reach the local cloud)")
        return self

    @property
    def destroy_on_removal(self) -> bool:
        return self.removal_policy == "destroy"

    @property
    def is_local(self) -> bool:
        return self.target == "local"

    @property
    def registry_host(self) -> str:
        """The ECR registry host of this environment's account and region (the local cloud serves it too)."""
        return f"{self.account}.dkr.ecr.{self.region}.amazonaws.com"

    @property
    def ssm_image_uri_parameter(self) -> str:
        """Where consumers look the deployed image up: `repository@sha256:...`."""
        return f"/model-serving/{self.name}/image-uri"

    @property
    def ssm_image_tag_parameter(self) -> str:
        """The release tag of the deployed image, for people; machines should use the digest."""
        return f"/model-serving/{self.name}/image-tag"


class GitHubSettings(_Strict):
    """The repository whose GitHub Actions deploy through OIDC (see stacks/delivery_roles_stack.py)."""

    owner: str = Field(pattern=rules.GITHUB_OWNER.pattern)
    repo: str = Field(pattern=rules.GITHUB_REPO.pattern)


ImageTag = Annotated[
    str,
    _checked(rules.TAG_PREFIX.match, "must be an image tag: 1-128 chars of [A-Za-z0-9_.-] starting with [A-Za-z0-9_]"),
]


class RollbackSettings(_Strict):
    """`-c rollback=ENV=TAG`: point ENV back at a release already in its repository, building nothing."""

    environment: str
    image_tag: ImageTag


class AppSettings(_Strict):
    """All environments of the app, plus what applies to every one of them."""

    environments: tuple[EnvironmentSettings, ...]
    github: GitHubSettings | None = None
    rollback: RollbackSettings | None = None
    model_version: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
    # `-c target=local|aws`: synthesize only the environments of that target (all of them when unset).
    target: Literal["aws", "local"] | None = None

    @property
    def github_deployed(self) -> tuple[EnvironmentSettings, ...]:
        return tuple(env for env in self.synthesized if env.deployed_by_github)

    @property
    def synthesized(self) -> tuple[EnvironmentSettings, ...]:
        """The environments the app builds stages for, in promotion order: those of `target`, or all. A
        promotion chain never crosses targets, so every chain stays whole."""
        return tuple(env for env in self.in_promotion_order if self.target in (None, env.target))

    @model_validator(mode="after")
    def _promotion_chains_are_sound(self) -> "AppSettings":
        by_name = {env.name: env for env in self.environments}
        for env in self.environments:
            if env.promote_from is None:
                continue
            where = f"environment {env.name!r}: promote_from = {env.promote_from!r}"
            source = by_name.get(env.promote_from)
            if source is None:
                raise ValueError(f"{where}: no such environment; environments: {', '.join(by_name)}")
            if source.target != env.target:
                raise ValueError(f"{where}: a {env.target} environment cannot promote from a {source.target} one")
            seen = [env.name]
            while source is not None:
                if source.name in seen:
                    raise ValueError(f"{where}: the chain {' -> '.join([*seen, source.name])} is a cycle")
                seen.append(source.name)
                source = by_name.get(source.promote_from) if source.promote_from else None
        return self

    @model_validator(mode="after")
    def _rollback_names_an_environment(self) -> "AppSettings":
        names = [env.name for env in self.environments]
        if self.rollback and self.rollback.environment not in names:
            raise ValueError(
                f"rollback.environment = {self.rollback.environment!r}: no such environment; "
                f"environments: {', '.join(names)}"
            )
        if self.rollback and self.rollback.environment not in {env.name for env in self.synthesized}:
            raise ValueError(
                f"rollback.environment = {self.rollback.environment!r}: not synthesized with target = {self.target!r}"
            )
        return self

    def rollback_tag(self, env: EnvironmentSettings) -> str | None:
        """The release `env` is rolled back to in this deploy, if any."""
        return self.rollback.image_tag if self.rollback and self.rollback.environment == env.name else None

    def promotion_source(self, env: EnvironmentSettings) -> EnvironmentSettings | None:
        """The environment whose image `env` copies, or None when `env` builds the image itself."""
        return self.environment(env.promote_from) if env.promote_from else None

    def promotion_targets(self, env: EnvironmentSettings) -> tuple[EnvironmentSettings, ...]:
        """The environments that copy their image from `env`'s repository."""
        return tuple(other for other in self.environments if other.promote_from == env.name)

    @property
    def in_promotion_order(self) -> tuple[EnvironmentSettings, ...]:
        """Every environment after the one it promotes from, otherwise in cdk.json order."""
        ordered: list[EnvironmentSettings] = []
        while len(ordered) < len(self.environments):
            ordered += [
                env
                for env in self.environments
                if env not in ordered and (env.promote_from is None or env.promote_from in {o.name for o in ordered})
            ]
        return tuple(ordered)

    @property
    def local_environments(self) -> tuple[EnvironmentSettings, ...]:
        """The environments the local cloud deploys, in cdk.json order."""
        return tuple(env for env in self.environments if env.is_local)

    def environment(self, name: str) -> EnvironmentSettings:
        return next(env for env in self.environments if env.name == name)
