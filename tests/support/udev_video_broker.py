"""The udev video broker as a real process under the umockdev preload, and a real Camera client."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import grpc

from akri_proto.camera import camera_pb2 as pb
from akri_proto.camera import camera_pb2_grpc as pb_grpc
from tests.support.agents import free_port
from tests.support.processes import Child, ProcessGroup, wait_for
from tests.support.v4l2_camera import VideoBed

DEVNODE = "/dev/video0"


@dataclass
class Broker:
    child: Child
    port: int
    processes: ProcessGroup


async def start_broker(
    processes: ProcessGroup, bed: VideoBed, *, python: str = sys.executable, **env: str
) -> Broker:
    """Starts ``python -m akri_brokers.udev_video`` for ``/dev/video0`` of ``bed`` (the child
    inherits the umockdev preload; ``UMOCKDEV_DIR`` points it at the testbed) on a free port."""
    port = free_port()
    child = await processes.start(
        "akri_brokers.udev_video",
        env={
            "UDEV_DEVNODE_A1B2C3": DEVNODE,  # as the device plugin sets it
            "UMOCKDEV_DIR": bed.root,
            "BROKER_GRPC_ADDRESS": "127.0.0.1",
            "BROKER_GRPC_PORT": str(port),
            "LOG_FORMAT": "json",
            **env,
        },
        name="udev-video-broker",
        python=python,
    )
    return Broker(child=child, port=port, processes=processes)


async def get_frame(port: int) -> pb.NotifyResponse | grpc.aio.AioRpcError:
    """One real ``camera.Camera/GetFrame`` call: the reply, or the error it ended with."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply: pb.NotifyResponse = await pb_grpc.CameraStub(channel).GetFrame(
                pb.NotifyRequest(), timeout=5.0
            )
        except grpc.aio.AioRpcError as err:
            return err
        return reply


async def a_frame(broker: Broker, *, within: float = 15.0) -> pb.NotifyResponse:
    found: list[pb.NotifyResponse] = []

    async def got() -> bool:
        assert broker.child.proc.returncode is None, broker.child.log()
        answer = await get_frame(broker.port)
        if isinstance(answer, pb.NotifyResponse):
            found.append(answer)
            return True
        return False

    await wait_for(got, timeout=within, what="a frame from the broker", interval=0.1)
    return found[-1]


async def an_error(broker: Broker, *, containing: str, within: float = 15.0) -> str:
    """Waits until GetFrame fails UNAVAILABLE with details holding ``containing``."""
    seen: list[str] = []

    async def failed() -> bool:
        assert broker.child.proc.returncode is None, broker.child.log()
        answer = await get_frame(broker.port)
        if isinstance(answer, grpc.aio.AioRpcError):
            assert answer.code() == grpc.StatusCode.UNAVAILABLE, answer.details()
            seen.append(answer.details() or "")
            return containing in seen[-1]
        return False

    try:
        await wait_for(failed, timeout=within, what=f"GetFrame failing with {containing!r}")
    except AssertionError:
        raise AssertionError(f"errors seen: {seen[-3:]}\nlog:\n{broker.child.log()}") from None
    return seen[-1]
