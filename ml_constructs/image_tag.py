"""The deploy tag rule, shared by the construct that applies it and the tools that check it.

Deploy tags carry their own prefix, the only tags a repository leaves mutable (an ECR exclusion filter),
so that a deploy-time copy can always be re-run: ECR refuses any push of an existing immutable tag, even of
the same image (cdklabs/cdk-ecr-deployment#207). Every other tag stays immutable, and consumers never use a
tag anyway: they get the digest the deploy read back (see ModelImageRelease).
"""

DEPLOY_TAG_PREFIX = "deploy-"
HASH_CHARS_IN_TAG = 12


def deploy_tag(model_version: str, asset_hash: str) -> str:
    """`deploy-<model version>-<asset hash prefix>`: stable for the same content, new for new content."""
    return f"{DEPLOY_TAG_PREFIX}{model_version}-{asset_hash[:HASH_CHARS_IN_TAG]}"
