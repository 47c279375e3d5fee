"""Which resources of a template hold state: the ones the app marks (`ml_constructs.stateful`)."""

from __future__ import annotations

from delivery_tools.common.assembly import Template
from ml_constructs.stateful import STATEFUL_METADATA_KEY


def stateful_resources(template: Template | None) -> dict[str, str]:
    """Logical ID -> reason of every resource the app marked stateful in its CloudFormation Metadata."""
    resources = (template or {}).get("Resources", {})
    return {
        logical_id: str(resource["Metadata"][STATEFUL_METADATA_KEY])
        for logical_id, resource in resources.items()
        if STATEFUL_METADATA_KEY in (resource.get("Metadata") or {})
    }
