"""ECR's data-plane rules as plain functions: which registry API requests ECR refuses, and how it says so.

The proxy in `ecr_proxy` applies them to every request; the repository settings they take are read from
the local AWS API at request time, never kept here.

Wording and status codes as ECR answers the registry API (public reports, e.g. moby/buildkit#3776,
aws/containers-roadmap#862 and #2380, aws/aws-sdk#750, docker/build-push-action#1042):
- a manifest PUT of an existing tag in an immutable repository: HTTP 400, code TAG_INVALID;
- any request for a repository the account does not have: HTTP 404, code NAME_UNKNOWN.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Registry host names of ECR: <account>.dkr.ecr.<region>.amazonaws.com
REGISTRY_HOST = re.compile(r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")
# The local cloud's own route (no ECR route): the body bytes each registry host received and sent.
TRAFFIC_PATH = "/local-cloud/traffic"

# The distribution API's routes below /v2/<name>/ (the name may itself contain slashes).
_NAME = r"[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*"
_DIGEST = r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_ROUTE = re.compile(
    rf"^/v2/(?P<name>{_NAME})/(?:"
    rf"manifests/(?P<reference>{_DIGEST}|{_TAG})"
    rf"|blobs/(?:uploads/(?P<upload>[^/]*)|(?P<blob>{_DIGEST}))"
    rf"|tags/list"
    rf"|referrers/(?P<referrer>{_DIGEST})"
    rf")$"
)
_IS_DIGEST = re.compile(rf"^{_DIGEST}$")

IMMUTABLE = "IMMUTABLE"
IMMUTABLE_WITH_EXCLUSION = "IMMUTABLE_WITH_EXCLUSION"
MUTABLE_WITH_EXCLUSION = "MUTABLE_WITH_EXCLUSION"


@dataclass(frozen=True)
class RepositoryRequest:
    """A registry API request addressed to one repository."""

    repository: str
    # The path after /v2/<repository>/, e.g. "manifests/1.0" or "blobs/uploads/".
    rest: str
    # The tag or digest of a manifests/ request, else None.
    reference: str | None

    @property
    def tag(self) -> str | None:
        """The tag a manifests/ request names (None for a digest or another route)."""
        if self.reference is None or _IS_DIGEST.match(self.reference):
            return None
        return self.reference


def parse_path(path: str) -> RepositoryRequest | None:
    """The repository request `path` makes, or None when it is no per-repository route (/v2/, _catalog)."""
    match = _ROUTE.match(path)
    if match is None:
        return None
    name = match["name"]
    return RepositoryRequest(repository=name, rest=path[len(f"/v2/{name}/") :], reference=match["reference"])


def wildcard_match(pattern: str, tag: str) -> bool:
    """ECR's WILDCARD exclusion filter: `*` stands for any run of characters, everything else is literal."""
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), tag) is not None


def tag_overwrite_refused(mutability: str, exclusion_filters: Iterable[Mapping[str, str]], tag: str) -> bool:
    """True when ECR refuses to point the existing `tag` at a manifest again (even the same one).

    IMMUTABLE: every tag is fixed. IMMUTABLE_WITH_EXCLUSION: every tag but those the filters match.
    MUTABLE_WITH_EXCLUSION: only the tags the filters match. MUTABLE: none.
    """
    excluded = any(
        wildcard_match(exclusion["filter"], tag)
        for exclusion in exclusion_filters
        if exclusion.get("filterType", "WILDCARD") == "WILDCARD"
    )
    if mutability == IMMUTABLE:
        return True
    if mutability == IMMUTABLE_WITH_EXCLUSION:
        return not excluded
    if mutability == MUTABLE_WITH_EXCLUSION:
        return excluded
    return False


@dataclass(frozen=True)
class RegistryError:
    """An error answer of the registry API: status and the JSON body the distribution spec defines."""

    status: int
    code: str
    message: str

    @property
    def body(self) -> bytes:
        return json.dumps({"errors": [{"code": self.code, "message": self.message}]}).encode()


def tag_invalid(tag: str, repository: str) -> RegistryError:
    """ECR's answer to overwriting a tag of an immutable repository."""
    return RegistryError(
        400,
        "TAG_INVALID",
        f"The image tag '{tag}' already exists in the '{repository}' repository and cannot be overwritten "
        "because the repository is immutable.",
    )


def name_unknown(repository: str, account: str) -> RegistryError:
    """ECR's answer for a repository the account does not have."""
    message = f"The repository with name '{repository}' does not exist in the registry with id '{account}'"
    return RegistryError(404, "NAME_UNKNOWN", message)


def unsupported(path: str) -> RegistryError:
    """For routes ECR's registry API does not offer (e.g. /v2/_catalog)."""
    return RegistryError(404, "UNSUPPORTED", f"The operation {path} is not supported by this registry")
