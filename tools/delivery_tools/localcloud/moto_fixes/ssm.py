"""Fix to moto's SSM: enforce a parameter's AllowedPattern, as SSM does.

moto 5.2.5 stores `AllowedPattern` but accepts any value. The app publishes each release's digest in a
parameter whose pattern admits only the digest that release must run (ml_constructs.model_image_release),
so without this check the local cloud would accept the very conflict the guard exists to stop.
"""

from __future__ import annotations

import re
from typing import Any

from moto.ssm.exceptions import SSMException
from moto.ssm.models import SimpleSystemManagerBackend

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


def install() -> None:
    """Patch moto's SSM backend (idempotent)."""
    SimpleSystemManagerBackend.put_parameter = _checked_put  # type: ignore[method-assign]
