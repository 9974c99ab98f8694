"""The XAddr policy: which device service URLs the handler may contact (pure, table-driven)."""

from __future__ import annotations

import pytest

from akri_onvif.xaddrs import (
    MAX_USABLE_XADDRS,
    Refusal,
    address_refusal,
    ipv4_host,
    usable_xaddrs,
    xaddr_refusal,
)

CAMERA = "http://10.0.0.5/onvif/device_service"


@pytest.mark.parametrize(
    ("url", "refused", "allowed_with_local"),
    [
        (CAMERA, None, None),
        ("http://10.0.0.5:8080/onvif/device_service", None, None),
        ("http://[2001:db8::5]/onvif/device_service", None, None),
        ("http://camera-7.lan/onvif/device_service", None, None),  # checked when resolved
        ("HTTP://10.0.0.5/onvif", None, None),
        ("http://127.0.0.1/onvif/device_service", "loopback address", None),
        ("http://127.8.9.10:80/x", "loopback address", None),
        ("http://[::1]/x", "loopback address", None),
        ("http://localhost:80/x", "loopback address", None),
        ("http://LOCALHOST./x", "loopback address", None),
        ("http://a.localhost/x", "loopback address", None),
        ("http://169.254.169.254/latest/meta-data/", "link-local address", None),
        ("http://[fe80::1]/x", "link-local address", None),
        ("http://[::ffff:127.0.0.1]/x", "loopback address", None),
        ("http://[::ffff:169.254.169.254]/x", "link-local address", None),
        ("http://0.0.0.0/x", "unspecified address", "unspecified address"),
        ("http://[::]/x", "unspecified address", "unspecified address"),
        (
            "http://239.255.255.250/x",
            "multicast or broadcast address",
            "multicast or broadcast address",
        ),
        (
            "http://255.255.255.255/x",
            "multicast or broadcast address",
            "multicast or broadcast address",
        ),
        ("https://10.0.0.5/onvif", "not an http:// URL", "not an http:// URL"),
        ("ftp://10.0.0.5/", "not an http:// URL", "not an http:// URL"),
        ("http:///nohost", "not a valid http:// URL", "not a valid http:// URL"),
        ("http://10.0.0.5:99999/", "not a valid http:// URL", "not a valid http:// URL"),
    ],
)
def test_xaddr_refusal(url: str, refused: str | None, allowed_with_local: str | None) -> None:
    assert xaddr_refusal(url, allow_local=False) == refused
    assert xaddr_refusal(url, allow_local=True) == allowed_with_local


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.1.2.3", None),
        ("127.0.0.53", "loopback address"),
        ("fe80::1%eth0", "link-local address"),
        ("not-an-ip", "not an IP address"),
        ("0.0.0.0", "unspecified address"),
    ],
)
def test_address_refusal_of_resolved_addresses(address: str, reason: str | None) -> None:
    assert address_refusal(address, allow_local=False) == reason


def test_usable_xaddrs_keeps_order_bounds_and_says_why() -> None:
    urls = [
        "http://127.0.0.1/a",
        *(f"http://10.0.0.{i}/onvif/device_service" for i in range(1, 10)),
        "http://169.254.169.254/b",
    ]
    usable, refused = usable_xaddrs(urls, allow_local=False)
    assert usable == tuple(f"http://10.0.0.{i}/onvif/device_service" for i in range(1, 5))
    assert len(usable) == MAX_USABLE_XADDRS
    assert refused == (
        Refusal("http://127.0.0.1/a", "loopback address"),
        Refusal("http://169.254.169.254/b", "link-local address"),
    )
    assert usable_xaddrs(["http://127.0.0.1/a"], allow_local=True) == (("http://127.0.0.1/a",), ())
    long_url = "http://127.0.0.1/" + "x" * 1000
    assert len(usable_xaddrs([long_url], allow_local=False)[1][0].url) == 200


@pytest.mark.parametrize(
    ("url", "ip"),
    [
        (CAMERA, "10.0.0.5"),
        ("http://10.0.0.5:81/x", "10.0.0.5"),
        ("http://[2001:db8::1]/x", None),
        ("http://cam.lan/x", None),
        ("https://10.0.0.5/", None),
    ],
)
def test_ipv4_host(url: str, ip: str | None) -> None:
    assert ipv4_host(url) == ip
