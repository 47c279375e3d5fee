"""Which docker client builds the CDK's image assets: one that has BuildKit, found the way a shell finds it."""

import stat
from pathlib import Path

from delivery_tools.common.docker import buildkit_client, buildkit_environment


def client(directory: Path, version: str, *, buildx: bool = False) -> Path:
    """A `docker` executable in `directory` that prints `version` and has the buildx plugin or not."""
    directory.mkdir(parents=True, exist_ok=True)
    executable = directory / "docker"
    buildx_status = 0 if buildx else 1
    executable.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = --version ]; then echo "Docker version {version}, build 0000000"; exit 0; fi\n'
        f'if [ "$1" = buildx ]; then exit {buildx_status}; fi\n'
        "exit 2\n"
    )
    executable.chmod(executable.stat().st_mode | stat.S_IXUSR)
    return executable


def test_a_client_with_buildx_is_taken_first(tmp_path: Path) -> None:
    new = client(tmp_path / "local", "28.2.2", buildx=True)
    client(tmp_path / "debian", "20.10.24+dfsg1")
    assert buildkit_client([str(new.parent), str(tmp_path / "debian")]) == str(new)


def test_a_new_client_without_buildx_is_passed_over_for_one_with_buildkit_built_in(tmp_path: Path) -> None:
    client(tmp_path / "local", "28.2.2")
    old = client(tmp_path / "debian", "20.10.24+dfsg1")
    assert buildkit_client([str(tmp_path / "local"), str(tmp_path / "missing"), str(old.parent)]) == str(old)


def test_no_client_that_has_buildkit_leaves_the_classic_builder(tmp_path: Path) -> None:
    client(tmp_path / "local", "28.2.2")
    assert buildkit_client([str(tmp_path / "local"), str(tmp_path / "empty")]) is None
    assert buildkit_environment(None) == {}


def test_the_same_client_reached_twice_is_asked_once(tmp_path: Path) -> None:
    new = client(tmp_path / "bin", "27.0.1")
    (tmp_path / "usr-bin").symlink_to(new.parent)
    calls = tmp_path / "calls"
    new.write_text(new.read_text().replace("#!/bin/sh\n", f'#!/bin/sh\necho "$1" >> {calls}\n'))
    assert buildkit_client([str(new.parent), str(tmp_path / "usr-bin")]) is None
    assert calls.read_text().split() == ["--version", "buildx"]


def test_the_cdk_is_told_to_use_the_client_with_buildkit(tmp_path: Path) -> None:
    old = client(tmp_path / "debian", "20.10.24+dfsg1")
    assert buildkit_environment(buildkit_client([str(old.parent)])) == {"CDK_DOCKER": str(old), "DOCKER_BUILDKIT": "1"}
