"""The brokers' pure parts: which variables they read and serve, HTTP answers, device probes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from akri_brokers.debug_echo import echoed
from akri_brokers.responder import answer
from akri_brokers.udev import devnodes, probe
from akri_brokers.variables import matching, required
from akri_common.settings import Environment, SettingsError, require_cluster_access
from akri_common.usage import parse_usage


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"UDEV_DEVNODE": "/dev/a"}, {"UDEV_DEVNODE": "/dev/a"}),
        (
            {"UDEV_DEVNODE_E4C669": "/dev/a", "UDEV_DEVNODE_0": "/dev/b", "UDEV_DEVPATH": "/x"},
            {"UDEV_DEVNODE_0": "/dev/b", "UDEV_DEVNODE_E4C669": "/dev/a"},
        ),
        ({"UDEV_DEVNODE": "", "UDEV_DEVNODEX": "/dev/a", "UDEV_DEVNODE_": "/dev/c"}, {}),
    ],
)
def test_matching_takes_bare_and_suffixed_copies(
    env: dict[str, str], expected: dict[str, str]
) -> None:
    assert matching(env, "UDEV_DEVNODE") == expected


def test_required_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="UDEV_DEVNODE: is required"):
        required({}, "UDEV_DEVNODE")


def test_devnodes_are_distinct() -> None:
    env = {"UDEV_DEVNODE": "/dev/a", "UDEV_DEVNODE_E4C669": "/dev/a", "UDEV_DEVNODE_1": "/dev/b"}
    assert devnodes(env) == ["/dev/a", "/dev/b"]


def test_echoed_serves_debug_echo_variables_and_listed_names_only() -> None:
    env = {
        "DEBUG_ECHO_DESCRIPTION_8120FE": "foo0",
        "RESOLUTION": "640x480",
        "RESOLUTION_8120FE": "640x480",
        "PASSWORD": "secret",
    }
    assert echoed(env, "RESOLUTION, ") == {
        "DEBUG_ECHO_DESCRIPTION_8120FE": "foo0",
        "RESOLUTION": "640x480",
        "RESOLUTION_8120FE": "640x480",
    }
    with pytest.raises(SettingsError, match="DEBUG_ECHO_DESCRIPTION"):
        echoed({"PASSWORD": "secret"}, None)


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        ("GET / HTTP/1.1", "200 OK"),
        ("HEAD /?x=1 HTTP/1.0", "200 OK"),
        ("GET /healthz HTTP/1.1", "200 OK"),
        ("GET /nope HTTP/1.1", "404 Not Found"),
        ("POST / HTTP/1.1", "405 Method Not Allowed"),
        ("garbage", "400 Bad Request"),
    ],
)
def test_answer(request_line: str, status: str) -> None:
    response = answer(request_line, lambda: {"k": "v"})
    head, body = response.split(b"\r\n\r\n", 1)
    assert head.startswith(f"HTTP/1.1 {status}\r\n".encode())
    assert f"Content-Length: {len(body)}".encode() in head
    json.loads(body)


def test_probe_reads_a_char_device_without_blocking() -> None:
    found = probe("/dev/zero")
    assert (found["kind"], found["major"], found["minor"]) == ("char", 1, 5)
    assert found["read_bytes"] == 64
    assert found["sample"] == "00" * 16


def test_probe_reports_a_missing_node(tmp_path: Path) -> None:
    found = probe(str(tmp_path / "video9"))
    assert found["error"].startswith("ENOENT")


def test_usage_help_and_stray_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    variables = [("AGENT_NODE_NAME", "required: the node")]
    with pytest.raises(SystemExit) as helped:
        parse_usage(["--help"], prog="p", summary="Does p.", variables=variables)
    assert helped.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: p [-h]")
    assert "AGENT_NODE_NAME  required: the node" in out
    with pytest.raises(SystemExit) as stray:
        parse_usage(["--nope"], prog="p", summary="Does p.", variables=variables)
    assert stray.value.code == 2
    parse_usage([], prog="p", summary="Does p.", variables=variables)


@pytest.mark.parametrize(
    ("value", "expected"), [(None, "stderr"), ("stdout", "stdout"), ("stderr", "stderr")]
)
def test_log_output(value: str | None, expected: str) -> None:
    env = {} if value is None else {"LOG_OUTPUT": value}
    assert Environment(env).log_output() == expected


def test_bad_log_output_names_the_variable() -> None:
    with pytest.raises(SettingsError, match=r"LOG_OUTPUT.*'file'"):
        Environment({"LOG_OUTPUT": "file"}).log_output()


def test_cluster_access_is_required_outside_a_cluster() -> None:
    with pytest.raises(SettingsError, match="KUBECONFIG"):
        require_cluster_access({})
    require_cluster_access({"KUBECONFIG": "/k"})
    require_cluster_access({"KUBERNETES_SERVICE_HOST": "10.96.0.1"})
