"""Synthesize the real app in-process, once, and give tests typed access to what came out."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template

import app as cdk_app
from config import AppSettings
from stacks import ModelDeliveryStage

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STACK_KINDS = ("Repository", "ModelImage")


def project_context() -> dict[str, Any]:
    """cdk.json's context, as the CDK CLI would hand it to the app."""
    context: dict[str, Any] = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
    return context


@dataclass(frozen=True)
class SynthesizedStack:
    env: str
    kind: str
    template_json: dict[str, Any]
    template: Template
    manifest_properties: dict[str, Any]
    metadata: dict[str, list[dict[str, Any]]]
    assets: dict[str, Any]

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.template_json["Resources"].items()
            if resource["Type"] == resource_type
        }

    def only(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        (item,) = self.resources(resource_type).items()
        return item


@dataclass(frozen=True)
class SynthesizedApp:
    outdir: Path
    settings: AppSettings
    stages: dict[str, ModelDeliveryStage]
    stacks: dict[tuple[str, str], SynthesizedStack]

    def stack(self, env: str, kind: str) -> SynthesizedStack:
        return self.stacks[(env, kind)]


def synthesize(outdir: Path, context: dict[str, Any] | None = None) -> SynthesizedApp:
    app = cdk_app.new_app(context=context if context is not None else project_context(), outdir=str(outdir))
    settings = cdk_app.read_settings(app)
    stages = cdk_app.build(app, settings)
    app.synth()
    stacks = {}
    for env, stage in stages.items():
        assembly_dir = outdir / f"assembly-{env}"
        manifest = json.loads((assembly_dir / "manifest.json").read_text())
        for kind, stack in (("Repository", stage.repository_stack), ("ModelImage", stage.model_image_stack)):
            artifact_id = stack.artifact_id
            template_json = json.loads((assembly_dir / stack.template_file).read_text())
            stacks[(env, kind)] = SynthesizedStack(
                env=env,
                kind=kind,
                template_json=template_json,
                template=Template.from_json(template_json),
                manifest_properties=manifest["artifacts"][artifact_id]["properties"],
                metadata=json.loads((assembly_dir / f"{artifact_id}.metadata.json").read_text()),
                assets=json.loads((assembly_dir / f"{artifact_id}.assets.json").read_text()),
            )
    return SynthesizedApp(outdir=outdir, settings=settings, stages=stages, stacks=stacks)
