"""The changes the local cloud makes to the machine are idempotent and fully undone."""

from pathlib import Path

from cryptography import x509

from delivery_tools.localcloud.host_changes import docker_trust, hosts, records
from delivery_tools.localcloud.host_changes.pki import ensure_certificates

HOST = "210987654321.dkr.ecr.eu-north-1.amazonaws.com"


def test_the_hosts_line_is_added_once_and_removed_without_touching_other_lines(tmp_path: Path) -> None:
    hosts_file = tmp_path / "hosts"
    original = "127.0.0.1 localhost\n10.0.0.5 build-cache\n"
    hosts_file.write_text(original)
    assert hosts.add_host(HOST, "127.0.0.2", hosts_file) is True
    assert hosts.add_host(HOST, "127.0.0.2", hosts_file) is False
    assert hosts.add_host("other.example", "127.0.0.3", hosts_file) is True
    assert hosts_file.read_text().count(HOST) == 1
    assert hosts.address_of(HOST, hosts_file) == "127.0.0.2"
    assert hosts.remove_host(HOST, hosts_file) is True
    assert hosts_file.read_text() == original + hosts.our_line("other.example", "127.0.0.3") + "\n"
    assert hosts.remove_host(HOST, hosts_file) is False
    assert hosts.address_of(HOST, hosts_file) is None


def test_a_host_moved_to_another_address_has_one_line_and_foreign_lines_stay(tmp_path: Path) -> None:
    hosts_file = tmp_path / "hosts"
    foreign = f"10.1.2.3 {HOST}"  # not ours: never rewritten or removed
    hosts_file.write_text(f"127.0.0.1 localhost\n{foreign}\n{hosts.our_line(HOST, '127.0.0.1')}\n")
    assert hosts.add_host(HOST, "127.0.0.4", hosts_file) is True
    assert hosts_file.read_text().splitlines() == ["127.0.0.1 localhost", foreign, hosts.our_line(HOST, "127.0.0.4")]
    assert hosts.has_host(HOST, "127.0.0.4", hosts_file) and not hosts.has_host(HOST, "127.0.0.1", hosts_file)
    assert hosts.remove_host(HOST, hosts_file) is True
    assert hosts_file.read_text().splitlines() == ["127.0.0.1 localhost", foreign]


def test_docker_trust_is_installed_and_removed(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("CERT")
    certs_d = tmp_path / "certs.d"
    assert docker_trust.trust_registry(HOST, ca, certs_d) is True
    assert (certs_d / HOST / "ca.crt").read_text() == "CERT"
    assert docker_trust.trusts(HOST, ca, certs_d)
    assert docker_trust.trust_registry(HOST, ca, certs_d) is False
    assert docker_trust.untrust_registry(HOST, certs_d) is True
    assert not certs_d.exists()
    assert docker_trust.untrust_registry(HOST, certs_d) is False


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


def test_a_change_keeps_its_first_owner_and_is_listed_for_that_owner_only(tmp_path: Path) -> None:
    first = records.record(tmp_path, "hosts-line", HOST, owner="e2e-1")
    again = records.record(tmp_path, "hosts-line", HOST, owner="local-cloud")
    records.record(tmp_path, "image", "busybox:latest", owner="local-cloud")
    assert first == again == records.Record("hosts-line", HOST, "e2e-1")
    assert records.owned(tmp_path, "e2e-1") == [first]
    assert [item.target for item in records.owned(tmp_path, "local-cloud")] == ["busybox:latest"]
    records.forget(tmp_path, first)
    assert records.owned(tmp_path, "e2e-1") == []
    assert not records.is_recorded(tmp_path, "hosts-line", HOST)
