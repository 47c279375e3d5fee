"""Fixtures every test of the tools shares."""

from __future__ import annotations

from pathlib import Path

import pytest

from delivery_tools.localcloud.services.state import LocalCloudState

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def project_root() -> Path:
    """The checkout these tests run in (the CDK app's directory)."""
    return PROJECT_ROOT


@pytest.fixture
def state(tmp_path: Path) -> LocalCloudState:
    """A prepared local-cloud state directory of the test's own."""
    local_state = LocalCloudState.at(tmp_path / "local-cloud-home")
    local_state.prepare()
    return local_state
