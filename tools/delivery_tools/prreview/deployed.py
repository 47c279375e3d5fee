"""Read the templates of deployed stacks, so the same review runs against an account (credentials needed)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from delivery_tools.common.assembly import StackRef, Template
from delivery_tools.common.errors import ToolError


class DeployedStackError(ToolError):
    """A deployed template could not be read (no credentials, no access, unreachable endpoint)."""


def _deployed_template(client: Any, ref: StackRef) -> Template | None:
    try:
        body = client.get_template(StackName=ref.stack_name, TemplateStage="Original")["TemplateBody"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise DeployedStackError(f"reading stack {ref.stack_name} in {ref.region} failed: {error}") from None
    except BotoCoreError as error:
        raise DeployedStackError(f"reading stack {ref.stack_name} in {ref.region} failed: {error}") from None
    template: Template = json.loads(body) if isinstance(body, str) else dict(body)
    return template


def deployed_templates(refs: Iterable[StackRef]) -> dict[str, Template | None]:
    """Each stack's deployed template by display name; None for a stack not deployed yet.

    Uses the default credential chain; `AWS_ENDPOINT_URL` points it at the local cloud.
    """
    clients: dict[str, Any] = {}
    templates: dict[str, Template | None] = {}
    for ref in refs:
        if ref.region not in clients:
            clients[ref.region] = boto3.client("cloudformation", region_name=ref.region)
        templates[ref.display_name] = _deployed_template(clients[ref.region], ref)
    return templates
