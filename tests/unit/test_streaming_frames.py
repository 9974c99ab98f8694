"""MJPEG framing, the newest-frame slot, settings and the manifest."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from akri_common.settings import SettingsError
from akri_streaming import mjpeg
from akri_streaming.frames import FrameSlot
from akri_streaming.manifest import HEADER, manifests, render
from akri_streaming.settings import StreamingSettings
from akri_streaming.sources import Target

REPO = Path(__file__).resolve().parents[2]
JPEG = b"\xff\xd8\xff\xe0" + b"x" * 100 + b"\xff\xd9"


def test_a_part_is_boundary_headers_jpeg_and_line_end() -> None:
    assert mjpeg.part(JPEG) == (
        b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: 106\r\n\r\n" + JPEG + b"\r\n"
    )
    assert mjpeg.CONTENT_TYPE == "multipart/x-mixed-replace; boundary=frame"


def test_parts_read_back_whole_frames_only() -> None:
    second = JPEG + b"\r\n--frame\r\n"  # a frame holding the boundary's bytes
    stream = mjpeg.part(JPEG) + mjpeg.part(second) + mjpeg.part(JPEG)[:50]
    assert mjpeg.parts(stream) == [JPEG, second]


def test_only_jpegs_are_sent() -> None:
    assert mjpeg.looks_like_jpeg(JPEG)
    assert not mjpeg.looks_like_jpeg(b"\x89PNG")
    assert not mjpeg.looks_like_jpeg(b"")


async def test_a_viewer_gets_the_newest_frame_never_a_backlog() -> None:
    slot = FrameSlot()
    assert await slot.next_after(0, timeout=0.01) is None
    for n in range(5):
        slot.publish(JPEG + bytes([n]), "cam")
    frame = await slot.next_after(0, timeout=1)
    assert frame is not None
    assert frame.seq == 5
    assert frame.jpeg.endswith(b"\x04")
    waiting = asyncio.create_task(slot.next_after(5, timeout=5))
    await asyncio.sleep(0)  # wait-ok: let the viewer start waiting
    slot.publish(JPEG, "cam")
    newer = await waiting
    assert newer is not None
    assert newer.seq == 6
    waiting = asyncio.create_task(slot.next_after(6, timeout=5))
    await asyncio.sleep(0)  # wait-ok: let the viewer start waiting
    slot.close()
    assert await waiting is None
    assert slot.frames == 6


def test_a_failure_is_bounded_and_cleared_by_a_frame() -> None:
    slot = FrameSlot()
    slot.fail("x" * 10_000)
    assert len(slot.error) == 200
    slot.publish(JPEG, "")
    assert slot.error == ""


def test_fixed_mode_settings() -> None:
    settings = StreamingSettings.from_environment(
        {
            "CAMERA_COUNT": "2",
            "CAMERA1_SOURCE_SVC": "cam1",
            "CAMERA2_SOURCE_SVC": "127.0.0.1:50051",
            "CAMERAS_SOURCE_SVC": "all-svc",
        }
    )
    assert settings.configuration is None
    assert settings.fixed == (
        ("any", Target("all-svc", 80)),
        ("camera-1", Target("cam1", 80)),
        ("camera-2", Target("127.0.0.1", 50051)),
    )
    assert settings.port == 5000


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "CONFIGURATION_NAME"),
        ({"CAMERA_COUNT": "2", "CAMERA1_SOURCE_SVC": "a"}, "CAMERA2_SOURCE_SVC"),
        ({"CAMERA_COUNT": "1000"}, "CAMERA_COUNT"),
        ({"CAMERA_COUNT": "1", "CAMERA1_SOURCE_SVC": "a:99999"}, "CAMERA1_SOURCE_SVC"),
        (
            {"CONFIGURATION_NAME": "c", "STREAMING_SOURCE_OVERRIDE": "x y"},
            "STREAMING_SOURCE_OVERRIDE",
        ),
        ({"CONFIGURATION_NAME": "c", "STREAMING_FRAME_RATE": "100"}, "STREAMING_FRAME_RATE"),
        (
            {"CONFIGURATION_NAME": "c", "STREAMING_MAX_FRAME_BYTES": "1"},
            "STREAMING_MAX_FRAME_BYTES",
        ),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as caught:
        StreamingSettings.from_environment(env)
    assert caught.value.name == variable


def test_watch_mode_settings() -> None:
    settings = StreamingSettings.from_environment(
        {"CONFIGURATION_NAME": "akri-onvif", "CONFIGURATION_NAMESPACE": "akri"}
    )
    assert (settings.configuration, settings.configuration_namespace) == ("akri-onvif", "akri")
    assert settings.fixed == ()
    assert settings.fetch_frames


def test_manifest_grants_list_and_watch_of_services_and_instances_only() -> None:
    documents = manifests(namespace="apps", configuration="cams", configuration_namespace="akri")
    kinds = [d["kind"] for d in documents]
    assert kinds == ["ServiceAccount", "Role", "RoleBinding", "Deployment", "Service"]
    role, binding = documents[1], documents[2]
    assert role["metadata"]["namespace"] == "akri"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "akri-video-streaming-app", "namespace": "apps"}
    ]
    verbs = {(r, v) for rule in role["rules"] for r in rule["resources"] for v in rule["verbs"]}
    assert verbs == {
        ("services", "list"),
        ("services", "watch"),
        ("instances", "list"),
        ("instances", "watch"),
    }
    container = documents[3]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["CONFIGURATION_NAME"] == "cams"
    assert env["CONFIGURATION_NAMESPACE"] == "akri"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert documents[3]["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_all_namespaces_takes_a_cluster_role() -> None:
    documents = manifests(namespace="apps", all_namespaces=True)
    assert [d["kind"] for d in documents[1:3]] == ["ClusterRole", "ClusterRoleBinding"]
    assert "namespace" not in documents[1]["metadata"]
    container = documents[3]["spec"]["template"]["spec"]["containers"][0]
    assert "CONFIGURATION_NAMESPACE" not in {e["name"] for e in container["env"]}


def test_the_example_is_the_generator_output() -> None:
    example = (REPO / "examples" / "video-streaming-app.yaml").read_text()
    assert example == HEADER + render(manifests())
    assert len(list(yaml.safe_load_all(example))) == 5
