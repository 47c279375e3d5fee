"""The deploy tag rule, shared by the construct that applies it and the tools that check it."""

HASH_CHARS_IN_TAG = 12


def deploy_tag(model_version: str, asset_hash: str) -> str:
    """`<model version>-<asset hash prefix>`: stable for the same content, new for new content."""
    return f"{model_version}-{asset_hash[:HASH_CHARS_IN_TAG]}"


# The copy lands first under `incoming-<tag>`, the only tags a repository leaves mutable, so that a copy can
# always be re-run; the release tag itself is then added by ECR's PutImage, which is idempotent for the same
# digest (see ModelImageRelease).
INCOMING_TAG_PREFIX = "incoming-"


def incoming_tag(release_tag: str) -> str:
    return f"{INCOMING_TAG_PREFIX}{release_tag}"
