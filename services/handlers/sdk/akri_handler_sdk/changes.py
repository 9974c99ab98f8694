"""Change detection: a stream of device lists reduced to the lists that differ from the last one sent."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence

from akri_common.devices import Device


def canonical(devices: Sequence[Device]) -> tuple[Device, ...]:
    """The list in a stable order (by id), so that a mere reordering is not taken for a change."""
    return tuple(sorted(devices, key=lambda device: device.id))


def changed(previous: tuple[Device, ...] | None, current: Sequence[Device]) -> bool:
    """True when ``current`` must be sent: nothing was sent yet, or the set of devices differs."""
    return previous is None or canonical(previous) != canonical(current)


async def distinct_lists(
    source: AsyncIterator[Sequence[Device]],
) -> AsyncGenerator[tuple[Device, ...], None]:
    """Yields the first list, then each list that differs from the one yielded before it.

    The source is closed (``aclose``) when this generator ends, is closed or is cancelled.
    """
    previous: tuple[Device, ...] | None = None
    try:
        async for devices in source:
            if changed(previous, devices):
                previous = tuple(devices)
                yield previous
    finally:
        closer = getattr(source, "aclose", None)
        if closer is not None:
            await closer()
