"""A camera announced by an independent WS-Discovery implementation: ``wsdiscovery``'s publisher.

``python -m tests.integration.onvif_support.wsd_publisher --uuid U --xaddr URL [--scope S ...]``

Run inside a test's camera namespace (never in the root namespace: it multicasts on every
interface it sees). It publishes one ``dn:NetworkVideoTransmitter`` with ``wsdiscovery``'s
``ThreadedWSPublishing`` (which says Hello, repeated as SOAP-over-UDP asks, and answers Probes with
unicast ProbeMatches), prints one JSON line ``{"ready": true}`` once its Hellos have all left, and
on SIGTERM says Bye (``clearLocalServices``) and exits once the Byes have left. Nothing of the
handler's code is used here: the point is to check ours against another implementation.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from typing import Any

from wsdiscovery.publishing import ThreadedWSPublishing
from wsdiscovery.qname import QName
from wsdiscovery.scope import Scope

DN = "http://www.onvif.org/ver10/network/wsdl"
DRAIN_DEADLINE = 10.0


def drained(publisher: Any) -> bool:
    """True once the publisher's send queues are empty (every repeat of every message sent).

    ``wsdiscovery`` has no public call for this; its networking threads keep a ``_queue`` list.
    """
    threads = (publisher._networkingThread_v4, publisher._networkingThread_v6)
    return all(thread is None or not thread._queue for thread in threads)


def wait_drained(publisher: Any) -> None:
    deadline = time.monotonic() + DRAIN_DEADLINE
    while not drained(publisher) and time.monotonic() < deadline:
        time.sleep(0.02)  # wait-ok: re-checks the publisher queue against DRAIN_DEADLINE


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uuid", required=True)
    parser.add_argument("--xaddr", required=True)
    parser.add_argument("--scope", action="append", default=[])
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    # capture: every datagram sent and received, with its peer, goes to stderr (the test's log).
    publisher = ThreadedWSPublishing(uuid_=f"urn:uuid:{args.uuid}", capture=sys.stderr)
    publisher.start()
    try:
        publisher.publishService(
            types=[QName(DN, "NetworkVideoTransmitter", "dn")],
            scopes=[Scope(scope) for scope in args.scope],
            xAddrs=[args.xaddr],
        )
        wait_drained(publisher)
        print(json.dumps({"ready": True}), flush=True)
        stop.wait()
        publisher.clearLocalServices()  # Bye
        wait_drained(publisher)
    finally:
        publisher.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
