"""The sample OPC UA monitoring broker as a process against a real asyncua server."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from akri_handler_sdk.testing import serve_for_test
from akri_opcua import OpcuaHandler
from tests.integration.opcua_support.fixtures import opcua_lab, server
from tests.integration.opcua_support.lab import OpcuaLab
from tests.support.certificates import client_files
from tests.support.opcua_broker import get_value, start_broker
from tests.support.processes import ProcessGroup, wait_for

PLC = server("plc", application_name="PLC", variable="Temperature", value=21)


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[OpcuaLab]:
    async with opcua_lab([PLC], tmp_path) as running:
        yield running


async def test_serves_the_latest_value_and_follows_a_server_restart(
    lab: OpcuaLab, processes: ProcessGroup
) -> None:
    env = {
        # The suffixed form alone, as in a pod that got several Instances.
        "OPCUA_DISCOVERY_URL_A1B2C3": PLC.url,
        "IDENTIFIER": "Temperature",
        "NAMESPACE_INDEX": "2",
    }
    broker, port = await start_broker(processes, env)

    async def reads(value: int) -> bool:
        return await get_value(port) == (value, PLC.url)

    await wait_for(lambda: reads(21), timeout=15, what="the first value", interval=0.1)
    await lab.set("plc", 42)
    await wait_for(lambda: reads(42), timeout=5, what="the changed value", interval=0.05)
    # The server restarts: the broker subscribes again and sees the values written after.
    await lab.stop("plc")
    await lab.start("plc")
    await lab.set("plc", -7)
    await wait_for(lambda: reads(-7), timeout=15, what="a value after the restart", interval=0.1)
    assert await processes.stop(broker) == 0, broker.log()


async def test_missing_identifier_exits_2_naming_it(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "akri_opcua_broker",
        env={"OPCUA_DISCOVERY_URL": "opc.tcp://127.0.0.1:4840/"},
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert "IDENTIFIER" in err.decode()


async def test_mounted_credentials_reach_a_server_that_offers_only_sign_and_encrypt(
    tmp_path: Path, processes: ProcessGroup
) -> None:
    (tmp_path / "server-pki").mkdir()
    secure = server(
        "secure",
        application_name="Secure PLC",
        variable="Level",
        value=3,
        secure=True,
        certificates=str(tmp_path / "server-pki"),
    )
    # What opcua.configuration.mountCertificates mounts: upstream's Secret keys as files.
    mounted = tmp_path / "client-pki"
    mounted.mkdir()
    files = client_files()
    (mounted / "client_certificate").write_bytes(files.certificate_der)
    (mounted / "client_key").write_bytes(files.pkcs12)
    async with opcua_lab([secure], tmp_path) as lab:
        # The handler still describes it, over the policy-None channel discovery allows.
        async with (
            serve_for_test(OpcuaHandler()) as served,
            served.discover(
                f"opcuaDiscoveryMethod: {{standard: {{discoveryUrls: ['{secure.url}']}}}}"
            ) as stream,
        ):
            (device,) = await stream.wait_for(lambda d: len(d) == 1, within=15)
        assert device.properties["OPCUA_SECURITY_MODES"] == "SignAndEncrypt"
        assert device.properties["OPCUA_SECURITY_POLICIES"] == "Basic256Sha256"
        env = {
            "OPCUA_DISCOVERY_URL": secure.url,
            "IDENTIFIER": "Level",
            "OPCUA_CERTIFICATES_DIRECTORY": str(mounted),
        }
        broker, port = await start_broker(processes, env)

        async def reads(value: int) -> bool:
            return await get_value(port) == (value, secure.url)

        await wait_for(
            lambda: reads(3), timeout=20, what="a value over SignAndEncrypt", interval=0.1
        )
        await lab.set("secure", 4)
        await wait_for(lambda: reads(4), timeout=5, what="the changed value", interval=0.05)
        assert await processes.stop(broker) == 0
    assert "opcua_security" in broker.log()


async def test_an_unusable_credential_file_exits_2_naming_it(tmp_path: Path) -> None:
    (tmp_path / "client_certificate").write_bytes(client_files().certificate_der)
    (tmp_path / "client_key").write_bytes(b"-----BEGIN PRIVATE KEY-----\nnope\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "akri_opcua_broker",
        env={
            "OPCUA_DISCOVERY_URL": "opc.tcp://127.0.0.1:4840/",
            "IDENTIFIER": "x",
            "OPCUA_CERTIFICATES_DIRECTORY": str(tmp_path),
        },
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert err.decode().count("\n") == 1
    assert "client_key:" in err.decode()
    assert "nope" not in err.decode()
