"""The stateful marker: on every resource that holds data or keys, and on nothing else."""

from ml_constructs import STATEFUL_METADATA_KEY
from stacks.synthesis import SynthesizedApp


def marked(template: dict[str, object]) -> dict[str, str]:
    resources = template["Resources"]
    assert isinstance(resources, dict)
    return {
        logical_id: resource["Metadata"][STATEFUL_METADATA_KEY]
        for logical_id, resource in resources.items()
        if STATEFUL_METADATA_KEY in resource.get("Metadata", {})
    }


def test_the_key_and_the_repository_are_marked_with_what_a_replacement_loses(
    synthesized: SynthesizedApp, env_name: str
) -> None:
    stack = synthesized.stack(env_name, "Repository")
    reasons = marked(stack.template)
    assert set(reasons) == {stack.only("AWS::KMS::Key")[0], stack.only("AWS::ECR::Repository")[0]}
    assert all(len(reason.split()) >= 5 for reason in reasons.values())


def test_nothing_stateless_is_marked(synthesized: SynthesizedApp, env_name: str) -> None:
    assert marked(synthesized.stack(env_name, "ModelImage").template) == {}
