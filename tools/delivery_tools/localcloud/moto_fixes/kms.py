"""Fix to moto's AWS::KMS::Key: keep the key policy as JSON text, as the KMS API does.

moto 5.2.5 stores a CloudFormation `KeyPolicy` object as a dict, and every later KMS call on the key
(DescribeKey, GetKeyRotationStatus) then fails while parsing it as text.
"""

from __future__ import annotations

import json
from typing import Any

from moto.kms.models import Key

_create_key = Key.create_from_cloudformation_json


def _created(cls: type[Key], resource_name: str, cloudformation_json: dict[str, Any], *args: Any, **kwargs: Any) -> Key:
    properties = dict(cloudformation_json["Properties"])
    if not isinstance(properties.get("KeyPolicy"), str):
        properties["KeyPolicy"] = json.dumps(properties.get("KeyPolicy") or {})
    return _create_key(resource_name, {**cloudformation_json, "Properties": properties}, *args, **kwargs)


def install() -> None:
    """Patch moto's KMS key resource (idempotent)."""
    Key.create_from_cloudformation_json = classmethod(_created)  # type: ignore[method-assign,assignment]
