"""The CDK app's tests: the whole app synthesized once per session, exactly as `cdk synth` builds it."""

from pathlib import Path

import pytest

from stacks.synthesis import SynthesizedApp, synthesize

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENTS = ("dev", "staging", "prod", "local", "local-staging", "local-prod")


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    return synthesize(PROJECT_ROOT, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(params=ENVIRONMENTS)
def env_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)
