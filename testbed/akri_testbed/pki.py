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
    # The container testbed: the API server's address on the node network, and the `kubernetes`
    # Service's ClusterIP (akri_testbed.netns).
    "IP:10.200.0.1",
    "IP:10.96.0.1",
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
    kubelet_client_cert: Path
    kubelet_client_key: Path


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
        kubelet_client_cert=directory / "apiserver-kubelet-client.crt",
        kubelet_client_key=directory / "apiserver-kubelet-client.key",
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
    # The API server's client certificate towards kubelets (`kubectl logs`/`exec` on container
    # nodes): the kubelets trust the testbed CA for client certificates.
    client_csr = directory / "apiserver-kubelet-client.csr"
    _openssl(
        "req",
        "-new",
        *_EC_KEY,
        "-keyout",
        str(pki.kubelet_client_key),
        "-out",
        str(client_csr),
        "-subj",
        "/O=system:masters/CN=kube-apiserver-kubelet-client",
    )
    client_ext = directory / "apiserver-kubelet-client.ext"
    client_ext.write_text("extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        str(client_csr),
        "-CA",
        str(pki.ca_cert),
        "-CAkey",
        str(pki.ca_key),
        "-CAcreateserial",
        "-out",
        str(pki.kubelet_client_cert),
        "-days",
        str(days),
        "-extfile",
        str(client_ext),
    )
    for private in (pki.ca_key, pki.server_key, pki.sa_key, pki.kubelet_client_key):
        private.chmod(0o600)
    return pki
