"""An ONVIF client we did not write (``onvif-zeep-async``) asks a simulated camera what a VMS asks.

``python -m tests.integration.onvif_support.third_party_client --host IP --port P [--user U
--password W]``

Run in the handler's namespace: it sets the camera's services up from ``GetServices``
(``update_xaddrs``, with ``adjust_time`` so a camera with a skewed clock is signed for on its
own clock), then calls ``GetSystemDateAndTime``, ``GetNetworkInterfaces``, ``GetDeviceInformation``
is not asked (the simulator does not offer it), Media ``GetProfiles``, ``GetStreamUri`` and
``GetSnapshotUri``, and prints one JSON line with what it understood, or ``{"error": ...}``.

``onvif-zeep-async`` signs SOAP calls with a UsernameToken only (it uses HTTP Digest for
snapshots alone), so for a camera that takes HTTP Digest only, ``--http-digest`` checks the
camera's Digest with another independent implementation, ``httpx.DigestAuth``, and reads the
replies with zeep from ``onvif-zeep-async``'s own WSDL files.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from onvif import ONVIFCamera  # type: ignore[import-untyped]


async def ask(host: str, port: int, user: str, password: str) -> dict[str, Any]:
    camera = ONVIFCamera(host, port, user, password, adjust_time=True)
    try:
        await camera.update_xaddrs()
        device = await camera.create_devicemgmt_service()
        clock = await device.GetSystemDateAndTime()
        interfaces = await device.GetNetworkInterfaces()
        media = await camera.create_media_service()
        profiles = await media.GetProfiles()
        streams = {}
        snapshots = {}
        for profile in profiles:
            setup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
            stream = await media.GetStreamUri({"StreamSetup": setup, "ProfileToken": profile.token})
            snapshot = await media.GetSnapshotUri({"ProfileToken": profile.token})
            streams[profile.token] = stream.Uri
            snapshots[profile.token] = snapshot.Uri
        first = interfaces[0]
        return {
            "year": clock.UTCDateTime.Date.Year,
            "mac": first.Info.HwAddress,
            "ip": first.IPv4.Config.Manual[0].Address,
            "profiles": [
                {
                    "token": p.token,
                    "name": p.Name,
                    "width": p.VideoEncoderConfiguration.Resolution.Width,
                    "height": p.VideoEncoderConfiguration.Resolution.Height,
                }
                for p in profiles
            ],
            "streams": streams,
            "snapshots": snapshots,
            "services": sorted(camera.xaddrs),
        }
    finally:
        await camera.close()


async def ask_with_http_digest(host: str, port: int, user: str, password: str) -> dict[str, Any]:
    import httpx  # noqa: PLC0415 - only this mode needs it
    import onvif  # noqa: PLC0415
    import zeep  # noqa: PLC0415
    from lxml import etree  # noqa: PLC0415

    wsdl = Path(onvif.__file__).parent / "wsdl" / "devicemgmt.wsdl"
    client = zeep.Client(str(wsdl))
    binding = client.wsdl.bindings["{http://www.onvif.org/ver10/device/wsdl}DeviceBinding"]
    service = client.create_service(binding.name, f"http://{host}:{port}/onvif/device_service")
    answers: dict[str, Any] = {}
    async with httpx.AsyncClient(auth=httpx.DigestAuth(user, password), timeout=10) as http:
        for operation in ("GetSystemDateAndTime", "GetNetworkInterfaces"):
            envelope = client.create_message(service, operation)
            reply = await http.post(
                f"http://{host}:{port}/onvif/device_service",
                content=etree.tostring(envelope),
                headers={"Content-Type": "application/soap+xml; charset=utf-8"},
            )
            answers[operation] = binding.process_reply(client, binding.get(operation), reply)
    first = answers["GetNetworkInterfaces"][0]
    return {
        "year": answers["GetSystemDateAndTime"].UTCDateTime.Date.Year,
        "mac": first.Info.HwAddress,
        "ip": first.IPv4.Config.Manual[0].Address,
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    parser.add_argument("--http-digest", action="store_true")
    args = parser.parse_args(argv)
    call = ask_with_http_digest if args.http_digest else ask
    try:
        result = asyncio.run(call(args.host, args.port, args.user, args.password))
    except Exception as err:
        result = {"error": f"{type(err).__name__}: {err}"}
    print(json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
