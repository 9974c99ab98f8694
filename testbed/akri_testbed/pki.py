"""The testbed's certificates and keys, made with the ``openssl`` command-line tool.

One throw-away CA signs the API server's serving certificate (valid for 127.0.0.1 and localhost);
a separate key pair signs service-account tokens. Everything is written into one directory.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
_SERVER_NAMES = (
    "IP:127.0.0.1",
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
)


@dataclass(frozen=True)
class Pki:
    """Paths of the generated files."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    sa_key: Path
    sa_pub: Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def generate(directory: Path, *, days: int = 30) -> Pki:
    """Creates a CA, an API-server certificate and a service-account key pair in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    pki = Pki(
        ca_cert=directory / "ca.crt",
        ca_key=directory / "ca.key",
        server_cert=directory / "apiserver.crt",
        server_key=directory / "apiserver.key",
        sa_key=directory / "sa.key",
        sa_pub=directory / "sa.pub",
    )
    _openssl(
        "req",
        "-x509",
        *_EC_KEY,
        "-keyout",
        str(pki.ca_key),
        "-out",
        str(pki.ca_cert),
        "-days",
        str(days),
        "-subj",
        "/CN=akri-testbed-ca",
    )
    csr = directory / "apiserver.csr"
    _openssl(
        "req",
        "-new",
        *_EC_KEY,
        "-keyout",
        str(pki.server_key),
        "-out",
        str(csr),
        "-subj",
        "/CN=kube-apiserver",
    )
    extensions = directory / "apiserver.ext"
    extensions.write_text(
        f"subjectAltName={','.join(_SERVER_NAMES)}\n"
        "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(pki.ca_cert),
        "-CAkey",
        str(pki.ca_key),
        "-CAcreateserial",
        "-out",
        str(pki.server_cert),
        "-days",
        str(days),
        "-extfile",
        str(extensions),
    )
    _openssl(
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-out",
        str(pki.sa_key),
    )
    _openssl("pkey", "-in", str(pki.sa_key), "-pubout", "-out", str(pki.sa_pub))
    for private in (pki.ca_key, pki.server_key, pki.sa_key):
        private.chmod(0o600)
    return pki
