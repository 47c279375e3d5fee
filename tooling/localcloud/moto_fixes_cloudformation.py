"""Fixes to moto's CloudFormation so that a CDK app with a custom resource deploys as on AWS.

moto 5.2.5 differs from CloudFormation in ways that break an image-copy custom resource:
- it invokes the resource's function on Create only: when a deploy changes the properties (a new image
  tag) nothing is called and the new image is never copied. CloudFormation sends an `Update` event with
  the new and old properties; `_updated` does the same.
- it ignores a `FAILED` response: a stack being created waits for ever. CloudFormation fails the stack
  with the function's reason; `_process_response` does the same, so `cdk deploy` stops with that reason.
And one in stack updates: a parameter created from its template default (the CDK's `BootstrapVersion`)
cannot be updated with `UsePreviousValue`; `_resolve_update_parameters` uses that default, as
CloudFormation does.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from moto import settings
from moto.awslambda.utils import get_backend as get_lambda_backend
from moto.cloudformation.custom_model import CustomModel
from moto.cloudformation.models import CloudFormationBackend, cloudformation_backends
from moto.cloudformation.responses import CloudFormationResponse
from moto.moto_api._internal import mock_random

_create_custom_resource = CustomModel.create_from_cloudformation_json
_process_cfn_response = CloudFormationResponse.process_cfn_response
_resolve_update_parameters_of_moto = CloudFormationBackend._resolve_update_parameters


def _remember(resource: CustomModel, stack_id: str, resource_type: str, properties: dict[str, Any]) -> CustomModel:
    """Keep what a later Update event needs on the resource itself."""
    resource.stack_id = stack_id  # type: ignore[attr-defined]
    resource.resource_type = resource_type  # type: ignore[attr-defined]
    resource.properties = properties  # type: ignore[attr-defined]
    return resource


def _created(
    cls: type[CustomModel], resource_name: str, cloudformation_json: dict[str, Any], *args: Any, **kwargs: Any
) -> CustomModel:
    """moto's Create, remembering the stack and the properties."""
    resource = _create_custom_resource(resource_name, cloudformation_json, *args, **kwargs)
    return _remember(resource, kwargs["StackId"], kwargs["ResourceType"], cloudformation_json["Properties"])


def update_event(original: CustomModel, properties: dict[str, Any], request_id: str) -> dict[str, Any]:
    """The event CloudFormation sends when a custom resource's properties change."""
    host = f"{settings.moto_server_host()}:{settings.moto_server_port()}"
    stack_id: str = original.stack_id  # type: ignore[attr-defined]
    return {
        "RequestType": "Update",
        "ServiceToken": properties["ServiceToken"],
        "ResponseURL": f"{host}/cloudformation_{original.region_name}/cfnresponse?stack={stack_id}",
        "StackId": stack_id,
        "RequestId": request_id,
        "LogicalResourceId": original.logical_id,
        "PhysicalResourceId": original.physical_resource_id,
        "ResourceType": original.resource_type,  # type: ignore[attr-defined]
        "ResourceProperties": properties,
        "OldResourceProperties": original.properties,  # type: ignore[attr-defined]
    }


def _updated(
    cls: type[CustomModel],
    original_resource: CustomModel,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> CustomModel:
    """Invoke the function with an Update event (in the background, as moto does for Create)."""
    properties = cloudformation_json["Properties"]
    request_id = str(mock_random.uuid4())
    event = update_event(original_resource, properties, request_id)
    updated = _remember(
        CustomModel(region_name, request_id, original_resource.logical_id, original_resource.resource_name),  # type: ignore[abstract]
        original_resource.stack_id,  # type: ignore[attr-defined]
        original_resource.resource_type,  # type: ignore[attr-defined]
        properties,
    )
    stack = cloudformation_backends[account_id][region_name].get_stack(updated.stack_id)  # type: ignore[attr-defined]
    stack.add_custom_resource(updated)
    function = get_lambda_backend(account_id, region_name).get_function(properties["ServiceToken"])
    threading.Thread(target=function.invoke, args=(json.dumps(event), {}, {}), daemon=True).start()
    return updated


def _process_response(self: CloudFormationResponse) -> tuple[int, dict[str, int], str]:
    """Fail a stack still being created when its custom resource answers FAILED."""
    if self._get_param("Status") == "FAILED":
        stack = self.cloudformation_backend.get_stack(self._get_param("StackId"))
        reason = f"{self._get_param('LogicalResourceId')}: {self._get_param('Reason') or 'custom resource failed'}"
        if stack.status == "CREATE_IN_PROGRESS":
            stack.status = "CREATE_FAILED"
            stack._add_stack_event("CREATE_FAILED", resource_status_reason=reason)
    return _process_cfn_response(self)


def previous_values_as_defaults(
    incoming: list[dict[str, Any]], known: dict[str, Any], template: dict[str, Any]
) -> list[dict[str, Any]]:
    """`incoming` with each UsePreviousValue the stack has no value for replaced by the template default."""
    defaults = {name: spec["Default"] for name, spec in template.get("Parameters", {}).items() if "Default" in spec}
    return [
        {"ParameterKey": parameter["ParameterKey"], "ParameterValue": defaults[parameter["ParameterKey"]]}
        if parameter.get("UsePreviousValue")
        and parameter["ParameterKey"] not in known
        and parameter["ParameterKey"] in defaults
        else parameter
        for parameter in incoming
    ]


def _resolve_update_parameters(
    self: CloudFormationBackend, instance: Any, incoming_params: list[dict[str, Any]]
) -> dict[str, str]:
    template = getattr(instance, "template_dict", None) or {}
    incoming = previous_values_as_defaults(incoming_params, instance.parameters, template)
    return _resolve_update_parameters_of_moto(self, instance, incoming)


def install() -> None:
    """Patch moto's CloudFormation custom resources (idempotent)."""
    CustomModel.create_from_cloudformation_json = classmethod(_created)  # type: ignore[method-assign,assignment]
    CustomModel.update_from_cloudformation_json = classmethod(_updated)  # type: ignore[method-assign,assignment]
    CloudFormationResponse.process_cfn_response = _process_response  # type: ignore[method-assign]
    CloudFormationBackend._resolve_update_parameters = _resolve_update_parameters  # type: ignore[method-assign]
