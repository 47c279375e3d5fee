"""Synthesize the app in-process and read back what came out, as the CDK CLI would deploy it.

Tests and the developer tools look at the same cloud assembly through this one reader: each stack's
template, manifest properties (termination protection, environment), metadata and asset manifest.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import AppSettings
from config.project import load_project_settings, project_context
from stacks.delivery_app import build, new_app
from stacks.model_delivery_stage import ModelDeliveryStage


@dataclass(frozen=True)
class SynthesizedStack:
    env: str
    kind: str
    template: dict[str, Any]
    manifest_properties: dict[str, Any]
    metadata: dict[str, list[dict[str, Any]]]
    assets: dict[str, Any]

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
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


def synthesize(project_root: Path, outdir: Path, context: dict[str, Any] | None = None) -> SynthesizedApp:
    """The whole app synthesized into `outdir`; `context` replaces cdk.json's context when given."""
    app = new_app(context=context if context is not None else project_context(project_root), outdir=str(outdir))
    settings = load_project_settings(project_root, app.node.try_get_context)
    stages = build(app, settings, image_directory=project_root / "model_image")
    app.synth()
    stacks = {}
    for env, stage in stages.items():
        assembly_dir = outdir / f"assembly-{env}"
        manifest = json.loads((assembly_dir / "manifest.json").read_text())
        for kind, stack in stage.stacks.items():
            artifact_id = stack.artifact_id
            stacks[(env, kind)] = SynthesizedStack(
                env=env,
                kind=kind,
                template=json.loads((assembly_dir / stack.template_file).read_text()),
                manifest_properties=manifest["artifacts"][artifact_id]["properties"],
                metadata=json.loads((assembly_dir / f"{artifact_id}.metadata.json").read_text()),
                assets=json.loads((assembly_dir / f"{artifact_id}.assets.json").read_text()),
            )
    return SynthesizedApp(outdir=outdir, settings=settings, stages=stages, stacks=stacks)
