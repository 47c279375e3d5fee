"""The fixes that make moto behave like CloudFormation for our stacks (pure parts)."""

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from moto.ecr.exceptions import RepositoryNotEmptyException
from moto.ecr.models import Repository, ecr_backends
from moto.logs.exceptions import ResourceAlreadyExistsException
from moto.logs.models import LogGroup, logs_backends

from delivery_tools.localcloud.moto_fixes import ecr as moto_fixes_ecr
from delivery_tools.localcloud.moto_fixes import logs as moto_fixes_logs
from delivery_tools.localcloud.moto_fixes.cloudformation import custom_resource_event, previous_values_as_defaults
from delivery_tools.localcloud.moto_fixes.ecr import api_shaped


def test_update_events_carry_new_and_old_properties_and_keep_the_physical_id() -> None:
    original = SimpleNamespace(
        stack_id="arn:aws:cloudformation:eu-north-1:210987654321:stack/s/1",
        region_name="eu-north-1",
        logical_id="Copy",
        request_id="request-2",
        physical_resource_id="copy-1",
        resource_type="Custom::CDKECRDeployment",
    )
    new, old = {"ServiceToken": "arn:fn", "DestImage": "repo:new"}, {"ServiceToken": "arn:fn", "DestImage": "repo:old"}
    event = custom_resource_event("Update", original, new, old)  # type: ignore[arg-type]
    assert (event["RequestType"], event["RequestId"], event["PhysicalResourceId"]) == ("Update", "request-2", "copy-1")
    assert event["ResourceProperties"]["DestImage"] == "repo:new"
    assert event["OldResourceProperties"]["DestImage"] == "repo:old"
    assert event["ResponseURL"].endswith("/cloudformation_eu-north-1/cfnresponse?stack=" + original.stack_id)
    assert "OldResourceProperties" not in custom_resource_event("Create", original, new)  # type: ignore[arg-type]


def test_use_previous_value_falls_back_to_the_template_default_only_when_unknown() -> None:
    template = {"Parameters": {"BootstrapVersion": {"Default": "/cdk-bootstrap/hnb659fds/version"}, "Other": {}}}
    incoming: list[dict[str, Any]] = [
        {"ParameterKey": "BootstrapVersion", "UsePreviousValue": True},
        {"ParameterKey": "Other", "UsePreviousValue": True},
        {"ParameterKey": "Given", "ParameterValue": "x"},
    ]
    resolved = previous_values_as_defaults(incoming, {"Other": "kept"}, template)
    assert resolved == [
        {"ParameterKey": "BootstrapVersion", "ParameterValue": "/cdk-bootstrap/hnb659fds/version"},
        {"ParameterKey": "Other", "UsePreviousValue": True},
        {"ParameterKey": "Given", "ParameterValue": "x"},
    ]


def test_repository_properties_are_translated_to_the_api_spelling_once() -> None:
    properties = {
        "RepositoryName": "model-serving",
        "EncryptionConfiguration": {"EncryptionType": "KMS", "KmsKey": "arn:aws:kms:us-east-1:123456789012:key/k"},
        "ImageScanningConfiguration": {"ScanOnPush": True},
    }
    shaped = api_shaped(properties)
    assert shaped["EncryptionConfiguration"] == {
        "encryptionType": "KMS",
        "kmsKey": "arn:aws:kms:us-east-1:123456789012:key/k",
    }
    assert shaped["ImageScanningConfiguration"] == {"scanOnPush": True}
    assert api_shaped(shaped) == shaped
    assert properties["ImageScanningConfiguration"] == {"ScanOnPush": True}  # the input is not modified


def test_a_log_group_made_by_a_first_invocation_is_adopted_but_no_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LogGroup, "create_from_cloudformation_json", classmethod(moto_fixes_logs._created))
    backend = logs_backends["123456789012"]["us-east-1"]
    implicit, retained = f"/aws/lambda/implicit-{uuid.uuid4()}", f"/aws/lambda/retained-{uuid.uuid4()}"
    backend.ensure_log_group(implicit)  # what moto's Lambda does when an invocation starts
    backend.create_log_group(retained, {}, RetentionInDays=731)  # a group kept from an earlier stack

    def create(name: str) -> LogGroup:
        template = {"Properties": {"LogGroupName": name, "RetentionInDays": 30}}
        return LogGroup.create_from_cloudformation_json(name, template, "123456789012", "us-east-1")

    adopted = create(implicit)
    assert adopted is backend.groups[implicit] and adopted.retention_in_days == 30
    with pytest.raises(ResourceAlreadyExistsException):
        create(retained)


@pytest.mark.parametrize("empty_on_delete", [True, False])
def test_a_repository_stack_with_images_is_deleted_only_with_empty_on_delete(
    monkeypatch: pytest.MonkeyPatch, empty_on_delete: bool
) -> None:
    monkeypatch.setattr(Repository, "create_from_cloudformation_json", classmethod(moto_fixes_ecr._created))
    monkeypatch.setattr(Repository, "delete", moto_fixes_ecr._deleted)
    account, region, name = "210987654321", "eu-north-1", f"images-{uuid.uuid4().hex[:8]}"
    template = {"Properties": {"RepositoryName": name, "EmptyOnDelete": empty_on_delete}}
    repository = Repository.create_from_cloudformation_json(name, template, account, region)
    backend = ecr_backends[account][region]
    manifest = '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []}'
    backend.put_image(name, manifest, "1.0")
    if empty_on_delete:
        repository.delete(account, region)
        assert name not in backend.repositories
    else:
        with pytest.raises(RepositoryNotEmptyException):  # as CloudFormation without EmptyOnDelete
            repository.delete(account, region)
        backend.delete_repository(name, force=True)
