"""The video demo's reading of the streaming app's camera list."""

from __future__ import annotations

from demo.video import camera, live_cameras

CAMERAS = [camera(i) for i in range(3)]  # camera-1 .. camera-3 at 10.200.0.120 ..


def tile(
    label: str, title: str, *, status: str = "live", any_camera: bool = False
) -> dict[str, object]:
    return {"label": label, "camera": title, "status": status, "any_camera": any_camera}


def test_a_live_tile_names_its_camera_by_its_announced_name() -> None:
    listing = {"cameras": [tile("camera-1", "camera-1"), tile("camera-3", "camera-3")]}
    assert live_cameras(listing, CAMERAS) == {"camera-1", "camera-3"}


def test_without_a_name_the_address_tells_the_camera() -> None:
    listing = {
        "cameras": [
            tile("10.200.0.120", "http://10.200.0.120:8080/stream.mjpeg"),
            tile("akri-onvif-video-9f3a1c", "http://10.200.0.121:8080/stream.mjpeg"),
        ]
    }
    assert live_cameras(listing, CAMERAS) == {"camera-1", "camera-2"}


def test_tiles_without_frames_and_the_any_camera_tile_do_not_count() -> None:
    listing = {
        "cameras": [
            tile("camera-1", "camera-1", status="waiting for frames"),
            tile(
                "any camera", "any camera: http://10.200.0.121:8080/stream.mjpeg", any_camera=True
            ),
        ]
    }
    assert live_cameras(listing, CAMERAS) == set()


def test_an_address_is_matched_whole() -> None:
    listing = {"cameras": [tile("10.200.0.1200", "http://10.200.0.1200:8080/")]}
    assert live_cameras(listing, CAMERAS) == set()


def test_cameras_have_distinct_addresses_names_and_ids() -> None:
    cameras = [camera(i) for i in range(20)]
    for attribute in ("ip", "name", "uuid", "mac", "suffix"):
        assert len({getattr(c, attribute) for c in cameras}) == 20, attribute
