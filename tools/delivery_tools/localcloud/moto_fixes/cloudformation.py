"""Fixes to moto's CloudFormation so that a CDK app with a custom resource deploys, and fails, as on AWS.

moto 5.2.5 differs from CloudFormation in ways that break an image-copy custom resource:
- it invokes the resource's function on Create only: when a deploy changes the properties (a new image
  tag) nothing is called and the new image is never copied. CloudFormation sends an `Update` event with
  the new and old properties, and the stack update waits for the answer; `_updated` does the same.
- it ignores a `FAILED` answer (and a function that never answers): a stack being created waits for ever,
  an update completes regardless. CloudFormation fails the resource with the function's reason and rolls
  the stack back: a failed Create ends in ROLLBACK_COMPLETE (the CDK CLI deletes that stack before it
  creates it again), a failed Update in UPDATE_ROLLBACK_COMPLETE with the previous template and outputs.
  `_settle_create` and `_update_stack` do the same, so `cdk deploy` stops with the reason and the next
  deploy runs the copy again.
- it creates a custom resource in the background and goes on: a resource that reads its attributes
  (`Fn::GetAtt`, e.g. the digest an AwsCustomResource read) gets nothing. CloudFormation waits for the
  answer first; `_settle_create` does too.
And two in stack updates:
- a parameter created from its template default (the CDK's `BootstrapVersion`) cannot be updated with
  `UsePreviousValue`; `_resolve_update_parameters` uses that default, as CloudFormation does.
- a resource an update removes stays in moto's map of the stack's resources, so a later update that adds
  it again (a rollback's `RolledBackToDigest` giving way to `PromotedFromDigest` again) gets the old
  object back, with the data of its last run, and nothing is created. CloudFormation creates it anew;
  `_update_resources` forgets removed resources so that moto does too.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from moto import settings
from moto.awslambda.utils import get_backend as get_lambda_backend
from moto.cloudformation.custom_model import CustomModel
from moto.cloudformation.models import CloudFormationBackend, Event, Stack, cloudformation_backends
from moto.cloudformation.parsing import ResourceMap
from moto.cloudformation.responses import CloudFormationResponse
from moto.moto_api._internal import mock_random

_resolve_update_parameters_of_moto = CloudFormationBackend._resolve_update_parameters
_update_stack_of_moto = Stack.update
_update_resources_of_moto = ResourceMap.update
_RESULT_CHARS = 2000


@dataclass(frozen=True)
class Answer:
    """What the custom resource's function told CloudFormation."""

    status: str
    reason: str
    data: dict[str, Any]


_answers: dict[str, Answer] = {}  # by RequestId, until the invocation that waits for it takes it
_failed_updates: dict[str, Answer] = {}  # by StackId, during one stack update
_rolling_back: set[str] = set()  # StackIds whose update is being undone
_lock = threading.Lock()


def _new_resource(
    region_name: str, logical_id: str, resource_name: str, stack_id: str, resource_type: str, properties: dict[str, Any]
) -> CustomModel:
    """A custom resource with a fresh request id, keeping what a later Update event needs on itself."""
    resource = CustomModel(region_name, str(mock_random.uuid4()), logical_id, resource_name)  # type: ignore[abstract]
    resource.stack_id = stack_id  # type: ignore[attr-defined]
    resource.resource_type = resource_type  # type: ignore[attr-defined]
    resource.properties = properties  # type: ignore[attr-defined]
    return resource


def custom_resource_event(
    request_type: str, resource: CustomModel, properties: dict[str, Any], old_properties: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The event CloudFormation sends a custom resource's function (Create, or Update with the old properties)."""
    host = f"{settings.moto_server_host()}:{settings.moto_server_port()}"
    stack_id: str = resource.stack_id  # type: ignore[attr-defined]
    event = {
        "RequestType": request_type,
        "ServiceToken": properties["ServiceToken"],
        "ResponseURL": f"{host}/cloudformation_{resource.region_name}/cfnresponse?stack={stack_id}",
        "StackId": stack_id,
        "RequestId": resource.request_id,
        "LogicalResourceId": resource.logical_id,
        "ResourceType": resource.resource_type,  # type: ignore[attr-defined]
        "ResourceProperties": properties,
    }
    if request_type == "Update":
        event["PhysicalResourceId"] = resource.physical_resource_id
        event["OldResourceProperties"] = old_properties
    return event


def _invoke(account_id: str, region_name: str, event: dict[str, Any]) -> Answer:
    """Run the function to the end and return its answer; no answer is a failure, as on AWS."""
    function = get_lambda_backend(account_id, region_name).get_function(event["ServiceToken"])
    result = function.invoke(json.dumps(event), {}, {})
    with _lock:
        answer = _answers.pop(event["RequestId"], None)
    if answer is not None:
        return answer
    output = result.decode(errors="replace") if isinstance(result, bytes) else str(result)
    return Answer("FAILED", f"the function ended without answering CloudFormation: {output[-_RESULT_CHARS:]}", {})


def _resource_event(stack: Stack, resource: CustomModel, status: str, reason: str) -> None:
    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=resource.logical_id,
            physical_resource_id=resource.physical_resource_id,
            resource_type=resource.resource_type,  # type: ignore[attr-defined]
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


def _settle_create(stack: Stack, resource: CustomModel, event: dict[str, Any], account_id: str) -> None:
    """Invoke the function for Create and wait for it, as CloudFormation does before it creates anything that
    reads the resource's attributes; on failure, fail the resource and roll the stack back."""
    if stack.status.startswith("ROLLBACK"):
        return  # an earlier resource failed: CloudFormation creates nothing more
    answer = _invoke(account_id, resource.region_name, event)
    if answer.status == "SUCCESS":
        resource.set_data(answer.data)  # moto's create loop then completes the stack
        return
    _resource_event(stack, resource, "CREATE_FAILED", answer.reason)
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=f"{resource.logical_id}: {answer.reason}")
    stack.status = "ROLLBACK_COMPLETE"
    stack._add_stack_event("ROLLBACK_COMPLETE")


def _created(
    cls: type[CustomModel],
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> CustomModel:
    """A Create that waits for the function's answer: later resources read its attributes (`Fn::GetAtt`)."""
    properties = cloudformation_json["Properties"]
    stack_id, logical_id = kwargs["StackId"], kwargs["LogicalId"]
    resource = _new_resource(region_name, logical_id, resource_name, stack_id, kwargs["ResourceType"], properties)
    stack = cloudformation_backends[account_id][region_name].get_stack(kwargs["StackId"])
    stack.add_custom_resource(resource)
    event = custom_resource_event("Create", resource, properties)
    _settle_create(stack, resource, event, account_id)
    return resource


def _updated(cls: type[CustomModel], original_resource: CustomModel, **update: Any) -> CustomModel:
    """Invoke the function with an Update event and wait for its answer; a failure is kept for the stack.

    `update` is what moto passes by name: new_resource_name, cloudformation_json, account_id, region_name.
    """
    account_id, region_name = update["account_id"], update["region_name"]
    properties = update["cloudformation_json"]["Properties"]
    original = original_resource
    stack_id: str = original.stack_id  # type: ignore[attr-defined]
    if stack_id in _rolling_back:
        return original  # the failed update changed nothing: there is nothing to undo
    resource_type: str = original.resource_type  # type: ignore[attr-defined]
    updated = _new_resource(
        region_name, original.logical_id, original.resource_name, stack_id, resource_type, properties
    )
    stack = cloudformation_backends[account_id][region_name].get_stack(stack_id)
    event = custom_resource_event("Update", updated, properties, original.properties)  # type: ignore[attr-defined]
    answer = _invoke(account_id, region_name, event)
    if answer.status != "SUCCESS":
        _resource_event(stack, original, "UPDATE_FAILED", answer.reason)
        _failed_updates[stack_id] = Answer(answer.status, f"{original.logical_id}: {answer.reason}", {})
        return original
    updated.set_data(answer.data)
    stack.add_custom_resource(updated)
    return updated


def _update_stack(self: Stack, template: str, *args: Any, **kwargs: Any) -> None:
    """moto's update; if a custom resource failed, put the previous template, resources and outputs back."""
    previous_template, previous_parameters = self.template, dict(self.parameters)
    _update_stack_of_moto(self, template, *args, **kwargs)
    failure = _failed_updates.pop(self.stack_id, None)
    if failure is None:
        return
    self.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    self._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=failure.reason)
    _rolling_back.add(self.stack_id)
    try:
        self.template = previous_template
        self._parse_template()
        self.resource_map.update(self.template_dict, previous_parameters)
        self.output_map = self._create_output_map()
        self.parameters = previous_parameters
    finally:
        _rolling_back.discard(self.stack_id)
    self.status = "UPDATE_ROLLBACK_COMPLETE"
    self._add_stack_event("UPDATE_ROLLBACK_COMPLETE")


def _update_resources(self: ResourceMap, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
    """moto's update of a stack's resources, after which the resources it deleted are gone from the map."""
    removed = self.build_resource_diff(template, parameters)["Remove"]
    _update_resources_of_moto(self, template, parameters)
    for logical_id in removed:
        self._parsed_resources.pop(logical_id, None)


def _process_response(self: CloudFormationResponse) -> tuple[int, dict[str, int], str]:
    """Keep the function's answer for the invocation waiting for it (which settles the resource and stack)."""
    answer = Answer(
        self._get_param("Status") or "FAILED",
        self._get_param("Reason") or "custom resource failed",
        self._get_param("Data") or {},
    )
    with _lock:
        _answers[self._get_param("RequestId")] = answer
    return 200, {"status": 200}, json.dumps("{}")


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
    """Patch moto's CloudFormation custom resources and stack updates (idempotent)."""
    CustomModel.create_from_cloudformation_json = classmethod(_created)  # type: ignore[method-assign,assignment,arg-type]
    CustomModel.update_from_cloudformation_json = classmethod(_updated)  # type: ignore[method-assign,assignment,arg-type]
    CloudFormationResponse.process_cfn_response = _process_response  # type: ignore[method-assign]
    CloudFormationBackend._resolve_update_parameters = _resolve_update_parameters  # type: ignore[method-assign]
    Stack.update = _update_stack  # type: ignore[method-assign]
    ResourceMap.update = _update_resources  # type: ignore[method-assign]
