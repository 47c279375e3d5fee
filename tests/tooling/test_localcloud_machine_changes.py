"""The changes the local cloud makes to the machine are idempotent and fully undone."""

import io
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from cryptography import x509

from tooling.localcloud import docker_engine, hosts, processes
from tooling.localcloud.errors import LocalCloudError
from tooling.localcloud.images import busybox_tar
from tooling.localcloud.pki import ensure_certificates
from tooling.localcloud.state import LocalCloudState

HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def test_the_hosts_line_is_added_once_and_removed_without_touching_other_lines(tmp_path: Path) -> None:
    hosts_file = tmp_path / "hosts"
    original = "127.0.0.1 localhost\n10.0.0.5 build-cache\n"
    hosts_file.write_text(original)
    assert hosts.add_host(HOST, hosts_file) is True
    assert hosts.add_host(HOST, hosts_file) is False
    assert hosts_file.read_text().count(HOST) == 1
    assert hosts.remove_hosts(hosts_file) == [HOST]
    assert hosts_file.read_text() == original
    assert hosts.remove_hosts(hosts_file) == []


def test_docker_trust_is_installed_and_removed(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("CERT")
    certs_d = tmp_path / "certs.d"
    assert docker_engine.trust_registry(HOST, ca, certs_d).read_text() == "CERT"
    assert docker_engine.untrust_registry(HOST, certs_d) is True
    assert not (certs_d / HOST).exists()
    assert docker_engine.untrust_registry(HOST, certs_d) is False


def test_the_registry_certificate_names_the_ecr_host_and_chains_to_the_ca(tmp_path: Path) -> None:
    files = ensure_certificates(tmp_path, (HOST,))
    ca = x509.load_pem_x509_certificate(files.ca_certificate.read_bytes())
    server = x509.load_pem_x509_certificate(files.server_certificate.read_bytes())
    server.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [HOST]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert oct(files.server_key.stat().st_mode & 0o777) == "0o600"


def test_certificates_are_reused_and_remade_only_for_new_names(tmp_path: Path) -> None:
    first = ensure_certificates(tmp_path, (HOST,))
    ca_bytes, server_bytes = first.ca_certificate.read_bytes(), first.server_certificate.read_bytes()
    again = ensure_certificates(tmp_path, (HOST,))
    assert again.server_certificate.read_bytes() == server_bytes
    ensure_certificates(tmp_path, ("other.example",))
    assert first.ca_certificate.read_bytes() == ca_bytes  # the CA images trust is kept
    assert first.server_certificate.read_bytes() != server_bytes


def test_the_busybox_image_keeps_the_binary_and_links_the_applets(tmp_path: Path) -> None:
    binary = tmp_path / "busybox"
    binary.write_bytes(b"\x7fELF static busybox")
    with tarfile.open(fileobj=io.BytesIO(busybox_tar(binary))) as archive:
        members = {member.name: member for member in archive.getmembers()}
        assert members["bin/busybox"].isfile()
        assert archive.extractfile("bin/busybox").read() == b"\x7fELF static busybox"  # type: ignore[union-attr]
        assert members["bin/sleep"].issym() and members["bin/sleep"].linkname == "busybox"


@pytest.fixture
def state(tmp_path: Path) -> LocalCloudState:
    (tmp_path / "cdk.json").write_text("{}")
    local_state = LocalCloudState(tmp_path)
    local_state.prepare()
    return local_state


def test_a_started_service_is_tracked_and_stopped(state: LocalCloudState) -> None:
    pid = processes.start(state, "sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], ready=lambda: True)
    assert processes.tracked_pid(state, "sleeper") == pid
    assert processes.stop(state, "sleeper") is True
    assert processes.tracked_pid(state, "sleeper") is None
    assert not state.pid_file("sleeper").exists()
    assert processes.stop(state, "sleeper") is False


def test_a_recycled_pid_is_never_taken_for_ours(state: LocalCloudState) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        state.pid_file("moto").write_text(f"{stranger.pid} 1\n")  # right pid, wrong start time
        assert processes.tracked_pid(state, "moto") is None
        assert processes.stop(state, "moto") is False
        time.sleep(0.1)
        assert stranger.poll() is None  # not signalled
    finally:
        stranger.kill()
        stranger.wait()


def test_a_service_that_dies_while_starting_reports_its_log(state: LocalCloudState) -> None:
    command = [sys.executable, "-c", "import sys; print('bind: address already in use'); sys.exit(4)"]
    with pytest.raises(LocalCloudError, match=r"(?s)status 4.*address already in use"):
        processes.start(state, "broken", command, ready=lambda: False)
    assert not state.pid_file("broken").exists()
