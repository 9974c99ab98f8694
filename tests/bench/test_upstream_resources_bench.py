"""``make bench`` also runs the container-node test with upstream's resource values
(``tests/e2e/test_upstream_resources.py``): it prints each component's time from container start to
Ready under upstream's CPU limits and its working set in its own cgroup with 100 devices (500 for
the agent), next to the footprint bench's figures outside containers."""

from __future__ import annotations

import pytest

from tests.e2e.test_upstream_resources import (
    release,
    test_upstream_resources_hundred_devices_for_five_minutes,
)

__all__ = ["release", "test_upstream_resources_hundred_devices_for_five_minutes"]

pytestmark = [pytest.mark.bench, pytest.mark.containers, pytest.mark.timeout(1800)]
