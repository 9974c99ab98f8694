"""The broker's client certificate and key, from the files of the ``opcua-broker-credentials``
Secret that upstream's chart mounts (``client_certificate``, ``client_key``).

Decoding is pure (``client_credentials``); ``mounted_credentials`` reads the two files once, at
start. The certificate may be DER (as upstream's docs make it) or PEM; the key PEM,
DER, or an unencrypted PKCS#12 bundle (upstream's ``.pfx``). Both come out as DER, the form
asyncua loads from memory. A file that is none of these is a ``CredentialsError`` naming
the file, never showing its content.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

CLIENT_CERTIFICATE = "client_certificate"
CLIENT_KEY = "client_key"


class CredentialsError(ValueError):
    """A mounted credential file that cannot be used; names the file."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        super().__init__(f"{name}: {reason}")


@dataclass(frozen=True)
class ClientCredentials:
    certificate_der: bytes
    key_der: bytes = b""

    def __repr__(self) -> str:  # the key never reaches a log line
        return f"ClientCredentials(certificate={len(self.certificate_der)} bytes, key=hidden)"


def client_credentials(certificate: bytes, key: bytes) -> ClientCredentials:
    """Decodes the two files; raises ``CredentialsError`` naming the one that is unusable."""
    private_key, bundled = _key(key)
    try:
        cert = _certificate(certificate)
    except CredentialsError:
        if bundled is None:
            raise
        cert = bundled
    der = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return ClientCredentials(
        certificate_der=cert.public_bytes(serialization.Encoding.DER), key_der=der
    )


def _certificate(data: bytes) -> x509.Certificate:
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise CredentialsError(CLIENT_CERTIFICATE, "not a DER or PEM X.509 certificate") from None


def _key(data: bytes) -> tuple[rsa.RSAPrivateKey, x509.Certificate | None]:
    key: object = None
    bundled = None
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(data, password=None)
        else:
            try:
                key = serialization.load_der_private_key(data, password=None)
            except ValueError:
                key, bundled, _ = pkcs12.load_key_and_certificates(data, password=None)
    except (ValueError, TypeError):
        raise CredentialsError(
            CLIENT_KEY, "not an unencrypted PEM, DER or PKCS#12 private key"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialsError(CLIENT_KEY, "expected an RSA private key (Basic256Sha256)")
    return key, bundled


def mounted_credentials(directory: Path) -> ClientCredentials | None:
    """The credentials in ``directory`` when both files are there (read once, at start)."""
    certificate, key = directory / CLIENT_CERTIFICATE, directory / CLIENT_KEY
    if not (certificate.is_file() and key.is_file()):
        return None
    return client_credentials(certificate.read_bytes(), key.read_bytes())
