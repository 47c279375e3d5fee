"""Per-server environments: exact pins only, nothing installed beyond them, rebuilt only when the file changes."""

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from delivery_tools.benchmarks import venvs
from delivery_tools.benchmarks.venvs import canonical_name, ensure_venv, fingerprint, requirement_pins, unpinned
from delivery_tools.common.errors import ToolError


def test_pins_are_read_with_normalised_names_and_comments_ignored() -> None:
    text = "# header\nFlask==3.1.3\nzope.interface==8.7  # why\n\nmoto[server]==5.2.5\nprotobuf==6.33.6\n"
    assert requirement_pins(text) == {"flask": "3.1.3", "zope-interface": "8.7", "moto": "5.2.5", "protobuf": "6.33.6"}
    assert canonical_name("Typing_Extensions") == "typing-extensions"


@pytest.mark.parametrize("line", ["numpy", "numpy>=2", "numpy==2.*", "numpy==2.4,<3", "numpy~=2.4"])
def test_a_requirement_that_is_not_pinned_exactly_is_refused(line: str) -> None:
    with pytest.raises(ToolError, match="is not pinned exactly"):
        requirement_pins(f"scipy==1.17.1\n{line}\n")


def test_what_is_installed_beyond_the_pins_is_named() -> None:
    installed = {"pip": "23.2.1", "setuptools": "65.5.0", "flask": "3.1.3", "numpy": "2.4.7", "blinker": "1.9.0"}
    assert unpinned(installed, {"flask": "3.1.3", "numpy": "2.4.6"}) == ["blinker==1.9.0", "numpy==2.4.7"]


class FakeInstaller:
    """Stands in for `run`: records the commands and makes `python -m venv` create the interpreter file."""

    def __init__(self, listed: list[dict[str, str]]) -> None:
        self.commands: list[list[str]] = []
        self.listed = listed

    def __call__(self, command: Sequence[str], **_: Any) -> subprocess.CompletedProcess[str]:
        self.commands.append(list(command))
        if command[1:3] == ["-m", "venv"]:
            (Path(command[3]) / "bin").mkdir(parents=True)
            (Path(command[3]) / "bin" / "python").write_text("")
        stdout = json.dumps(self.listed) if "list" in command else ""
        return subprocess.CompletedProcess(list(command), 0, stdout, "")


@pytest.fixture
def requirements(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text("flask==3.1.3\n")
    return path


def test_an_environment_is_made_then_reused_while_its_file_is_unchanged(
    tmp_path: Path, requirements: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installer = FakeInstaller([{"name": "Flask", "version": "3.1.3"}, {"name": "pip", "version": "23.2.1"}])
    monkeypatch.setattr(venvs, "run", installer)
    python = ensure_venv(tmp_path / "peer", requirements)
    assert python == tmp_path / "peer" / "bin" / "python"
    assert any("install" in c and str(requirements) in c for c in installer.commands)
    assert (tmp_path / "peer" / venvs.STAMP).read_text() == fingerprint(requirements)

    installer.commands.clear()
    assert ensure_venv(tmp_path / "peer", requirements) == python
    assert installer.commands == []

    requirements.write_text("flask==3.1.2\n")
    installer.listed = [{"name": "Flask", "version": "3.1.2"}]
    ensure_venv(tmp_path / "peer", requirements)
    assert installer.commands, "a changed requirements file makes the environment anew"


def test_an_unpinned_dependency_fails_the_install_and_leaves_no_stamp(
    tmp_path: Path, requirements: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        venvs, "run", FakeInstaller([{"name": "Flask", "version": "3.1.3"}, {"name": "blinker", "version": "1.9.0"}])
    )
    with pytest.raises(ToolError, match=r"does not pin what was installed with it; add: blinker==1\.9\.0"):
        ensure_venv(tmp_path / "peer", requirements)
    assert not (tmp_path / "peer" / venvs.STAMP).exists()


def test_a_change_to_the_local_package_makes_a_new_fingerprint(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six==1.16.0\n")
    package = tmp_path / "package"
    (package / "module").mkdir(parents=True)
    (package / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (package / "module" / "code.py").write_text("A = 1\n")
    before = fingerprint(requirements, package)
    assert before != fingerprint(requirements), "the package is part of what the environment was made from"
    (package / "module" / "code.py").write_text("A = 2\n")
    assert fingerprint(requirements, package) != before
