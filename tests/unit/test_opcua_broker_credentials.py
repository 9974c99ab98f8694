"""The broker's client certificate and key, in every form upstream's Secret may hold them."""

from __future__ import annotations

import pytest

from akri_opcua_broker.credentials import CredentialsError, client_credentials
from tests.support.certificates import client_files

FILES = client_files()


@pytest.mark.parametrize(
    ("certificate", "key"),
    [
        ("certificate_der", "key_pem"),
        ("certificate_pem", "key_der"),
        ("certificate_der", "pkcs12"),
        ("garbage", "pkcs12"),  # the certificate bundled with the key stands in
    ],
)
def test_decodes(certificate: str, key: str) -> None:
    credentials = client_credentials(_file(certificate), _file(key))
    assert credentials.certificate_der == FILES.certificate_der
    assert credentials.key_der == FILES.key_der
    assert "BEGIN" not in repr(credentials)


@pytest.mark.parametrize(
    ("certificate", "key", "name", "reason"),
    [
        ("garbage", "key_pem", "client_certificate", "not a DER or PEM"),
        ("certificate_der", "garbage", "client_key", "not an unencrypted"),
        ("certificate_der", "ec_key_pem", "client_key", "expected an RSA private key"),
    ],
)
def test_rejects_naming_the_file(certificate: str, key: str, name: str, reason: str) -> None:
    with pytest.raises(CredentialsError) as caught:
        client_credentials(_file(certificate), _file(key))
    assert caught.value.name == name
    assert reason in str(caught.value)


def _file(name: str) -> bytes:
    if name == "garbage":
        return b"not a certificate"
    value = getattr(FILES, name)
    assert isinstance(value, bytes)
    return value
