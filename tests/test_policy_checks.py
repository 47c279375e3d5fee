"""cdk-nag, cfn-lint and checkov over every synthesized template: no unexplained finding."""

import json
import subprocess
from pathlib import Path
from typing import Any

import cfnlint.api
import pytest
from aws_cdk import Acknowledgment, App, Stack, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks

from stacks.synthesis import SynthesizedApp

PROJECT_ROOT = Path(__file__).resolve().parents[1]

CHECKOV = PROJECT_ROOT / ".venv-checkov" / "bin" / "checkov"
# Every acknowledged cdk-nag finding, per environment; a new one must be reviewed and added here.
EXPECTED_ACKNOWLEDGEMENTS = {
    "/ModelImage/ImageCopyRole512MiB/Role": "AwsSolutions-IAM5[Resource::*]",
    "/ModelImage/ImageCopyRole512MiB/Logs": "AwsSolutions-IAM5[Resource::arn:aws:logs:{region}:{account}:log-group:"
    "/aws/lambda/<CustomCDKECRDeploymentbd07c930edb94112a20f03f096f53666512MiB28EAD8E4>:*]",
    "/ModelImage/AWS679f53fac002430cb0da5b7982bd2287": "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:"
    "policy/service-role/AWSLambdaBasicExecutionRole]",
}
# cfn-lint warnings that come from CDK's own rendering, not from this app's choices.
TOLERATED_CFN_LINT_WARNINGS = {"W3005"}  # CDK adds an explicit DependsOn on the role of the vendored function


def templates(synthesized: SynthesizedApp) -> list[Path]:
    """Every template: two per environment, plus one delivery-roles stack per GitHub-deployed account."""
    found = sorted(synthesized.outdir.glob("**/*.template.json"))
    accounts = {env.account for env in synthesized.settings.github_deployed}
    assert len(found) == 2 * len(synthesized.stages) + len(accounts)
    return found


def test_every_nag_acknowledgement_is_expected_and_explained(synthesized: SynthesizedApp) -> None:
    for env, stage in synthesized.stages.items():
        settings = synthesized.settings.environment(env)
        acknowledged: dict[str, str] = {}
        for kind in ("Repository", "ModelImage"):
            for path, entries in synthesized.stack(env, kind).metadata.items():
                for entry in entries:
                    if entry["type"] == "aws:cdk:acknowledged-rules":
                        ((rule, reason),) = entry["data"].items()
                        acknowledged[path.removeprefix(f"/{env}")] = rule.removeprefix("Annotation::")
                        assert len(reason.split()) >= 8, f"{path}: '{reason}' does not explain the exception"
        expected = {
            path: rule.format(region=settings.region, account=settings.account)
            for path, rule in EXPECTED_ACKNOWLEDGEMENTS.items()
        }
        assert acknowledged == expected, stage.stage_name


def test_nag_fails_synthesis_on_an_unacknowledged_finding(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Careless")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["ecr:PutImage"], resources=["*"]))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match=r"AwsSolutions-IAM5\[Resource::\*\]"):
        app.synth()


def test_nag_accepts_the_same_finding_once_acknowledged(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Careful")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]))
    Validations.of(role).acknowledge(Acknowledgment(id="AwsSolutions-IAM5[Resource::*]", reason="reason given"))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()


def cfn_lint(paths: list[Path]) -> list[tuple[str, str, str]]:
    """(rule id, severity, message) of every cfn-lint finding in the given templates."""
    return [
        (match.rule.id, match.rule.severity, f"{path.name}: {match.message}")
        for path in paths
        for match in cfnlint.api.lint_file(path)
    ]


def test_cfn_lint_finds_no_error_in_any_template(synthesized: SynthesizedApp) -> None:
    findings = cfn_lint(templates(synthesized))
    assert [f for f in findings if f[1] == "error"] == []
    assert [f for f in findings if f[0] not in TOLERATED_CFN_LINT_WARNINGS] == []


def test_cfn_lint_does_catch_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "broken.template.json"
    broken.write_text(json.dumps({"Resources": {"Repo": {"Type": "AWS::ECR::Repository", "Properties": {"Nope": 1}}}}))
    assert [f[:2] for f in cfn_lint([broken])] == [("E3002", "error")]


def checkov(directory: Path) -> dict[str, Any]:
    assert CHECKOV.exists(), "checkov is installed by `make setup` into .venv-checkov"
    result = subprocess.run(
        [str(CHECKOV), "-d", str(directory), "--framework", "cloudformation", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(result.stdout)
    summary: dict[str, Any] = report["summary"] if isinstance(report, dict) else report[0]["summary"]
    results = report["results"] if isinstance(report, dict) else report[0]["results"]
    return {"summary": summary, "results": results}


def test_checkov_fails_no_check_and_every_skip_has_a_reason(synthesized: SynthesizedApp) -> None:
    report = checkov(synthesized.outdir)
    assert report["summary"]["failed"] == 0, [c["check_id"] for c in report["results"]["failed_checks"]]
    assert report["summary"]["passed"] > 100
    for skipped in report["results"]["skipped_checks"]:
        assert len(skipped["check_result"]["suppress_comment"].split()) >= 5, skipped["check_id"]
    skipped_types = {c["resource"].split(".")[0] for c in report["results"]["skipped_checks"]}
    assert skipped_types == {"AWS::Lambda::Function", "AWS::Logs::LogGroup", "AWS::ECR::Repository"}
    skipped_on_repositories = {
        c["check_id"] for c in report["results"]["skipped_checks"] if c["resource"].startswith("AWS::ECR::Repository")
    }
    assert skipped_on_repositories == {"CKV_AWS_51"}, "only the deploy-* exclusion from immutable tags"
