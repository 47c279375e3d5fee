import pytest

from tests.unit.cdk_app import SynthesizedApp, synthesize

ENVIRONMENTS = ("dev", "staging", "prod", "local", "local-staging", "local-prod")


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """The whole app, synthesized once for the session, exactly as `cdk synth` builds it."""
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(params=ENVIRONMENTS)
def env_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)
