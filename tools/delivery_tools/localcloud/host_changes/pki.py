"""A local certificate authority and the TLS certificate of the fake ECR registry host.

Docker only pushes to a registry over TLS it trusts; ECR's real host name is what moto hands out, so the
registry must present a certificate for that name, signed by a CA that only this machine trusts.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_CA_LIFETIME = datetime.timedelta(days=825)
_SERVER_LIFETIME = datetime.timedelta(days=90)
# Renew the server certificate well before it expires, so a long-lived checkout keeps working.
_RENEW_BEFORE = datetime.timedelta(days=7)
# A CA signs certificates and revocation lists, nothing else.
_USAGES = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement")
_CA_KEY_USAGE = {
    **dict.fromkeys((*_USAGES, "encipher_only", "decipher_only"), False),
    "key_cert_sign": True,
    "crl_sign": True,
}


@dataclass(frozen=True)
class Certificates:
    """Files of the local PKI: the CA certificate to trust, and the registry's certificate and key."""

    ca_certificate: Path
    server_certificate: Path
    server_key: Path


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)


def _write_certificate(certificate: x509.Certificate, path: Path) -> None:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _make_ca(key_path: Path, certificate_path: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Local cloud development CA")])
    now = _now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(**_CA_KEY_USAGE),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(key, key_path)
    _write_certificate(certificate, certificate_path)
    return key, certificate


def _load_ca(key_path: Path, certificate_path: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{key_path} is not an EC private key")
    return key, x509.load_pem_x509_certificate(certificate_path.read_bytes())


def _server_certificate_valid(path: Path, ca: x509.Certificate, host_names: tuple[str, ...]) -> bool:
    """True when `path` holds a certificate from `ca`, for exactly `host_names`, not about to expire."""
    if not path.is_file():
        return False
    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    try:
        certificate.verify_directly_issued_by(ca)
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    return (
        set(names.get_values_for_type(x509.DNSName)) == set(host_names)
        and certificate.not_valid_after_utc - _RENEW_BEFORE > _now()
    )


def _make_server_certificate(
    ca_key: ec.EllipticCurvePrivateKey,
    ca: x509.Certificate,
    host_names: tuple[str, ...],
    key_path: Path,
    certificate_path: Path,
) -> None:
    key = _new_key()
    now = _now()
    alternative_names: list[x509.GeneralName] = [x509.DNSName(name) for name in host_names]
    alternative_names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host_names[0])]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _SERVER_LIFETIME)
        .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(key, key_path)
    _write_certificate(certificate, certificate_path)


def ensure_certificates(directory: Path, host_names: tuple[str, ...]) -> Certificates:
    """Reuse the CA and server certificate in `directory`, making whatever is missing or stale.

    The CA is kept across runs (images that trust it stay valid); the server certificate is remade when
    its names change or it nears expiry.
    """
    files = Certificates(
        ca_certificate=directory / "ca.crt",
        server_certificate=directory / "registry.crt",
        server_key=directory / "registry.key",
    )
    ca_key_path = directory / "ca.key"
    if ca_key_path.is_file() and files.ca_certificate.is_file():
        ca_key, ca = _load_ca(ca_key_path, files.ca_certificate)
    else:
        ca_key, ca = _make_ca(ca_key_path, files.ca_certificate)
    if not _server_certificate_valid(files.server_certificate, ca, host_names):
        _make_server_certificate(ca_key, ca, host_names, files.server_key, files.server_certificate)
    return files
