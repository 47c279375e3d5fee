"""Fix to moto's AWS::Logs::LogGroup: a function's own log group may already exist, made by its first run.

moto's Lambda creates `/aws/lambda/<function>` the moment an invocation starts. A custom resource runs its
function while the stack is still being created, so that implicit group can appear before the stack's
AWS::Logs::LogGroup for the same function (the CDK's managed log group), which then fails with
ResourceAlreadyExists. On AWS the stack creates the group first. Here the stack adopts a group that
moto made implicitly (no retention, no tags) and applies its own settings; any other existing group
still fails the create, as on AWS.
"""

from __future__ import annotations

from typing import Any

from moto.logs.models import LogGroup, logs_backends

_create_log_group = LogGroup.create_from_cloudformation_json


def _created(
    cls: type[LogGroup],
    /,
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> LogGroup:
    backend = logs_backends[account_id][region_name]
    existing = backend.groups.get(resource_name)
    made_by_an_invocation = (
        existing is not None and existing.retention_in_days is None and not backend.list_tags_log_group(resource_name)
    )
    if existing is None or not made_by_an_invocation:
        return _create_log_group(resource_name, cloudformation_json, account_id, region_name, **kwargs)
    retention = cloudformation_json["Properties"].get("RetentionInDays")
    if retention is not None:
        existing.set_retention_policy(retention)
    return existing


def install() -> None:
    """Patch moto's log group resource (idempotent)."""
    LogGroup.create_from_cloudformation_json = classmethod(_created)  # type: ignore[method-assign,assignment]
