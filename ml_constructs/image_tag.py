"""The deploy tag rule, shared by the construct that applies it and the tools that check it."""

HASH_CHARS_IN_TAG = 12


def deploy_tag(model_version: str, asset_hash: str) -> str:
    """`<model version>-<asset hash prefix>`: stable for the same content, new for new content."""
    return f"{model_version}-{asset_hash[:HASH_CHARS_IN_TAG]}"
