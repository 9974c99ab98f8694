"""Which camera URL the broker reads, from the Instance's properties in its environment (pure).

The ONVIF handler with ``describeMedia`` gives ``ONVIF_PROFILE_<i>_TOKEN``, ``_RESOLUTION``
(``<w>x<h>``), ``_STREAM_URI`` and ``_SNAPSHOT_URI``; the device plugin sets each bare and
suffixed with the Instance's hash (``KEY_<HASH>``). The bare names win; without them the first
hash (by name) is used. A profile is usable with an HTTP(S) stream URI (read as MJPEG) or an
HTTP(S) snapshot URI (polled). ``ONVIF_VIDEO_PROFILE`` names a profile by token or index;
otherwise the usable profile with the smallest resolution is taken (profiles without one last,
then by index). User information in a URL is taken as the credential and removed from the URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

MAX_PROFILES = 16
MAX_URL = 2048
_KEY = re.compile(
    r"ONVIF_PROFILE_(\d{1,2})_(TOKEN|RESOLUTION|STREAM_URI|SNAPSHOT_URI)(_[0-9A-F]+)?"
)
_RESOLUTION = re.compile(r"(\d{1,5})x(\d{1,5})")
DEVICE_UUID = "ONVIF_DEVICE_UUID"


class NoSourceError(ValueError):
    """No profile the broker can read (the message says what was there)."""


@dataclass(frozen=True)
class Profile:
    index: int
    token: str = ""
    resolution: tuple[int, int] | None = None
    stream_uri: str | None = None
    snapshot_uri: str | None = None

    @property
    def mjpeg(self) -> str | None:
        return self.stream_uri if _http(self.stream_uri) else None

    @property
    def snapshot(self) -> str | None:
        return self.snapshot_uri if _http(self.snapshot_uri) else None


@dataclass(frozen=True)
class Source:
    """What to read: the stream (preferred) and/or snapshot URL, without credentials."""

    profile: Profile
    stream: str | None
    snapshot: str | None
    username: str | None = None
    password: str | None = None

    @property
    def identifier(self) -> str:
        """The camera's name in ``NotifyResponse.camera``: the URL frames come from."""
        return self.stream or self.snapshot or ""


def _http(uri: str | None) -> bool:
    return uri is not None and urlsplit(uri).scheme.lower() in ("http", "https")


def _suffix(env: Mapping[str, str]) -> str:
    """``""`` when bare profile properties are present, else the first ``_<HASH>`` suffix."""
    suffixes = set()
    for name in env:
        found = _KEY.fullmatch(name)
        if found is None:
            continue
        if found.group(3) is None:
            return ""
        suffixes.add(found.group(3))
    return min(suffixes) if suffixes else ""


def profiles(env: Mapping[str, str]) -> list[Profile]:
    """The profiles the properties describe, by index (at most ``MAX_PROFILES``)."""
    suffix = _suffix(env)
    fields: dict[int, dict[str, str]] = {}
    for name, value in env.items():
        found = _KEY.fullmatch(name)
        if found is None or (found.group(3) or "") != suffix or not value:
            continue
        index = int(found.group(1))
        if index < MAX_PROFILES and len(value) <= MAX_URL:
            fields.setdefault(index, {})[found.group(2)] = value
    result = []
    for index in sorted(fields):
        given = fields[index]
        size = _RESOLUTION.fullmatch(given.get("RESOLUTION", ""))
        result.append(
            Profile(
                index=index,
                token=given.get("TOKEN", ""),
                resolution=(int(size.group(1)), int(size.group(2))) if size else None,
                stream_uri=given.get("STREAM_URI"),
                snapshot_uri=given.get("SNAPSHOT_URI"),
            )
        )
    return result


def _area(profile: Profile) -> tuple[int, int, int]:
    if profile.resolution is None:
        return (1, 0, profile.index)
    return (0, profile.resolution[0] * profile.resolution[1], profile.index)


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``url`` without user information, and the user name and password it carried."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None, None
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    password = unquote(parts.password) if parts.password is not None else None
    return clean, unquote(parts.username), password


def choose(
    env: Mapping[str, str],
    wanted: str | None = None,
    *,
    username: str | None = None,
    password: str | None = None,
) -> Source:
    """The source to read; ``NoSourceError`` when no (or not the wanted) profile is usable."""
    found = profiles(env)
    usable = [p for p in found if p.mjpeg or p.snapshot]
    if wanted:
        named = [p for p in found if p.token == wanted or str(p.index) == wanted]
        if not named:
            tokens = ", ".join(p.token or str(p.index) for p in found[:MAX_PROFILES]) or "none"
            raise NoSourceError(f"no profile {wanted[:40]!r} (profiles: {tokens[:200]})")
        usable = [p for p in named if p.mjpeg or p.snapshot]
        if not usable:
            raise NoSourceError(f"profile {wanted[:40]!r} has no HTTP stream or snapshot URI")
    if not usable:
        raise NoSourceError(
            f"no ONVIF_PROFILE_<i>_STREAM_URI or _SNAPSHOT_URI with an HTTP URL among "
            f"{len(found)} profiles (the Configuration needs describeMedia: true)"
        )
    profile = min(usable, key=_area)
    urls: list[str | None] = []
    user, secret = username, password
    for url in (profile.mjpeg, profile.snapshot):
        if url is None:
            urls.append(None)
            continue
        clean, url_user, url_password = split_credentials(url)
        urls.append(clean)
        if user is None and url_user is not None:
            user, secret = url_user, url_password
    return Source(profile=profile, stream=urls[0], snapshot=urls[1], username=user, password=secret)
