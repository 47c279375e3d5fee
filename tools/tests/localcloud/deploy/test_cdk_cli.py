"""The CDK CLI as the local cloud runs it, and its reason for a failure picked out of its output, so the
tool's error ends with it."""

from itertools import pairwise
from pathlib import Path

from delivery_tools.localcloud.deploy.cdk_cli import CdkCli, failure_lines

# The end of a real `cdk deploy` whose custom resource failed (CDK CLI 2.1x, shortened).
FAILED_DEPLOY = [
    "local-prod-ModelImage | 0 | 3:38:13 PM | UPDATE_FAILED | Custom::AWS | ... The image with imageId ...",
    "",
    "❌  local-prod-ModelImage failed to deploy",
    "‣ DeploymentError: Resource updates failed:",
    "local-prod/ModelImage/ModelImage/CopiedImage/Resource/Default  (Custom::AWS ModelImageCopiedImageAC31E92A)",
    "  The image with imageId {imageDigest:'null', imageTag:'1.0-missing'} does not exist within the repository",
    "",
    "   Logs from /aws/lambda/local-prod-ModelImage-AWS679f53fac002430cb0da5b7982bd22872D164C4C:",
    "       at async main (/var/runtime/node_runtime.js:64:20) {",
]


def test_the_section_from_the_cross_to_the_blank_line() -> None:
    assert failure_lines(FAILED_DEPLOY) == FAILED_DEPLOY[2:6]


def test_the_last_failure_when_several_stacks_failed() -> None:
    output = ["❌  first failed", "‣ one", "", "❌  second failed", "‣ ParameterNotFound: Parameter /p not found."]
    assert failure_lines(output) == output[3:]


def test_a_long_section_is_cut_and_without_a_cross_the_last_printed_lines_stand_in() -> None:
    assert failure_lines(["❌  failed", *[f"line {n}" for n in range(30)]], most=4) == [
        "❌  failed",
        "line 0",
        "line 1",
        "line 2",
    ]
    assert failure_lines(["a", "", "b", "c", ""], most=2) == ["b", "c"]


def test_the_app_synthesizes_the_local_stages_only_with_the_base_image_asked_for(project_root: Path) -> None:
    cdk = CdkCli(project_root, "http://localhost:4566", "us-east-1", "local/python-base:bookworm")
    command = cdk.command(["synth", "local/*"])
    pairs = list(pairwise(command))
    assert ("--context", "target=local") in pairs
    assert ("--context", "base_image=local/python-base:bookworm") in pairs
    assert "--context" not in cdk.command(["deploy", "local/*"], synthesized=True), "the assembly is already made"
