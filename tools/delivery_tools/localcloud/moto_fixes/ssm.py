"""Fixes to moto's SSM: a parameter's AllowedPattern is enforced, and CloudFormation updates it in place.

- moto 5.2.5 stores `AllowedPattern` but accepts any value. The app publishes each release's digest in a
  parameter whose pattern admits only the digest that release must run (ml_constructs.model_image_release),
  so without this check the local cloud would accept the very conflict the guard exists to stop.
- moto updates an `AWS::SSM::Parameter` of a stack by deleting it and creating it again. CloudFormation
  changes its value, description or pattern in place ("Update requires: No interruption") and replaces it
  only for a new `Name`, so a refused value leaves the parameter as it was. With moto's way, one refused
  value (e.g. a digest guard evaluated before the resource it reads was updated) deleted the parameter, and
  every later update of the stack failed with `ParameterNotFound`.
"""

from __future__ import annotations

import re
from typing import Any

from moto.ssm.exceptions import SSMException
from moto.ssm.models import Parameter, SimpleSystemManagerBackend, ssm_backends

_put_parameter = SimpleSystemManagerBackend.put_parameter


class ParameterPatternMismatchError(SSMException):
    """SSM's ParameterPatternMismatchException, with its message."""

    def __init__(self, pattern: str) -> None:
        super().__init__(
            "ParameterPatternMismatchException",
            f"Parameter value, cannot be validated against allowedPattern: {pattern}",
        )


def _checked_put(self: SimpleSystemManagerBackend, *args: Any, **kwargs: Any) -> Any:
    names = ("name", "description", "value", "parameter_type", "allowed_pattern")
    arguments = dict(zip(names, args, strict=False)) | kwargs
    pattern, value = arguments.get("allowed_pattern"), arguments.get("value")
    if pattern and value is not None and not re.fullmatch(pattern, value):
        raise ParameterPatternMismatchError(pattern)
    return _put_parameter(self, *args, **kwargs)


def _updated_in_place(
    cls: type[Parameter],
    original_resource: Parameter,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> Parameter:
    """CloudFormation's update: a new version of the same parameter, or, for a new `Name`, the new parameter
    first and then the old one deleted. A refused value raises and changes nothing."""
    properties = cloudformation_json["Properties"]
    name = properties.get("Name") or original_resource.name
    if name != original_resource.name:
        replacement = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        cls.delete_from_cloudformation_json(original_resource.name, cloudformation_json, account_id, region_name)
        return replacement
    return ssm_backends[account_id][region_name].put_parameter(
        name=name,
        description=properties.get("Description"),
        value=properties.get("Value"),
        parameter_type=properties.get("Type"),
        allowed_pattern=properties.get("AllowedPattern"),
        keyid=properties.get("KeyId"),
        overwrite=True,
        tags=[],  # SSM refuses tags with overwrite; a stack update keeps the parameter's tags
        data_type=properties.get("DataType", "text"),
        tier=properties.get("Tier"),
        policies=properties.get("Policies"),
    )


def install() -> None:
    """Patch moto's SSM backend and its CloudFormation parameter updates (idempotent)."""
    SimpleSystemManagerBackend.put_parameter = _checked_put  # type: ignore[method-assign]
    Parameter.update_from_cloudformation_json = classmethod(_updated_in_place)  # type: ignore[method-assign,assignment]
