"""The ONVIF video broker as a process, reading the simulated camera's footage over real HTTP and
serving it over real gRPC: the frames are the camera's (its name in each JPEG's COM segment) and
move on; the camera going away is an UNAVAILABLE error and its return brings frames back; a
snapshot-only profile is polled; a camera that wants a credential gets it (never logged)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import grpc
import pytest

from tests.integration.onvif_support.footage import fields
from tests.support.agents import free_port
from tests.support.processes import ProcessGroup, wait_for
from tests.support.video_broker import (
    FrameUnavailableError,
    camera_properties,
    get_frame,
    start_camera,
    start_video_broker,
)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def frame_from(port: int, camera: str) -> dict[str, str] | None:
    """The COM fields of the broker's frame when it is one of ``camera``'s, else None."""
    try:
        jpeg, _ = await get_frame(port)
    except FrameUnavailableError:
        return None
    found = fields(jpeg)
    return found if found.get("name") == camera else None


async def test_frames_are_the_cameras_move_on_and_follow_a_camera_restart(
    processes: ProcessGroup,
) -> None:
    camera_port = free_port()
    env = camera_properties(camera_port)
    broker, port = await start_video_broker(processes, env)
    stream = env["ONVIF_PROFILE_1_STREAM_URI"]

    # Before the camera is there: UNAVAILABLE, saying which camera and why.
    with pytest.raises(FrameUnavailableError) as early:
        await get_frame(port)
    assert early.value.code == grpc.StatusCode.UNAVAILABLE
    assert f"no frame from {stream}" in early.value.details

    camera = await start_camera(processes, camera_port, "--name", "dock-door")
    await wait_for(lambda: _has_frame(port, "dock-door"), timeout=15, what="a frame", interval=0.1)
    jpeg, identifier = await get_frame(port)
    assert jpeg.startswith(b"\xff\xd8")
    assert jpeg.endswith(b"\xff\xd9")
    assert identifier == stream
    first = fields(jpeg)
    await asyncio.sleep(1.0)  # wait-ok: the test asks for two frames a second apart
    second = fields((await get_frame(port))[0])
    assert second["name"] == "dock-door"
    assert int(second["frame"]) > int(first["frame"]), (first, second)
    assert second["time"] != first["time"]
    print(f"\nvideo broker RSS while streaming: {rss_kib(broker.pid)} KiB")

    # The camera stops: the broker says so; it comes back: frames again.
    assert await processes.stop(camera) == 0
    await wait_for(lambda: _unavailable(port), timeout=15, what="UNAVAILABLE", interval=0.1)
    with pytest.raises(FrameUnavailableError) as gone:
        await get_frame(port)
    assert gone.value.details.startswith(f"no frame from {stream}: ")
    await start_camera(processes, camera_port, "--name", "dock-door")
    await wait_for(
        lambda: _has_frame(port, "dock-door"), timeout=15, what="frames again", interval=0.1
    )
    assert await processes.stop(broker) == 0, broker.log()
    assert '"event": "camera_unreachable"' in broker.log()


async def _has_frame(port: int, camera: str) -> bool:
    return await frame_from(port, camera) is not None


async def _unavailable(port: int) -> bool:
    try:
        await get_frame(port)
    except FrameUnavailableError as err:
        return bool(err.code == grpc.StatusCode.UNAVAILABLE)
    return False


async def test_a_profile_with_snapshots_only_is_polled(processes: ProcessGroup) -> None:
    camera_port = free_port()
    await start_camera(processes, camera_port, "--name", "yard")
    env = {**camera_properties(camera_port), "ONVIF_VIDEO_PROFILE": "main"}
    broker, port = await start_video_broker(processes, env)
    await wait_for(lambda: _has_frame(port, "yard"), timeout=15, what="a snapshot", interval=0.1)
    first = await frame_from(port, "yard")
    await asyncio.sleep(1.0)  # wait-ok: two frames a second apart
    second = await frame_from(port, "yard")
    assert first is not None
    assert second is not None
    assert int(second["frame"]) > int(first["frame"])
    assert (await get_frame(port))[1] == env["ONVIF_PROFILE_0_SNAPSHOT_URI"]
    assert '"event": "camera_polling"' in broker.log()


@pytest.mark.parametrize(
    ("quirk", "scheme"),
    [([], "digest"), (["--quirk", "digest-only"], "digest"), (["--quirk", "basic-only"], "basic")],
)
async def test_a_camera_that_wants_a_credential_gets_it_and_it_is_never_logged(
    processes: ProcessGroup, quirk: list[str], scheme: str
) -> None:
    camera_port = free_port()
    await start_camera(
        processes,
        camera_port,
        "--name",
        "gate",
        "--username",
        "viewer",
        "--password",
        "Pa55-w0rd",
        *quirk,
    )
    env = camera_properties(camera_port)
    # Without the credential: UNAVAILABLE naming the 401.
    _, bare = await start_video_broker(processes, env, name="no-credential")
    await wait_for(
        lambda: _details_contain(bare, "HTTP 401"), timeout=15, what="the 401", interval=0.1
    )
    broker, port = await start_video_broker(
        processes, {**env, "ONVIF_USERNAME": "viewer", "ONVIF_PASSWORD": "Pa55-w0rd"}
    )
    await wait_for(lambda: _has_frame(port, "gate"), timeout=15, what="a frame", interval=0.1)
    assert await processes.stop(broker) == 0
    assert f'"scheme": "{scheme}"' in broker.log()
    assert "Pa55-w0rd" not in broker.log()


async def _details_contain(port: int, text: str) -> bool:
    try:
        await get_frame(port)
    except FrameUnavailableError as err:
        return text in err.details
    return False


async def test_without_media_properties_it_exits_2_naming_describe_media() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "akri_brokers.onvif_video",
        env={"ONVIF_DEVICE_UUID": "x", "PATH": "/usr/bin:/bin"},
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 2
    assert b"describeMedia" in err
    assert len(err.splitlines()) == 1
