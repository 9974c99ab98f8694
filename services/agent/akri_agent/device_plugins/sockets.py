"""gRPC targets for Unix sockets whose path is longer than gRPC accepts (105 bytes).

kubelet's own directory is short, but a test's or a custom ``--root-dir`` may not be. A long path
is reached through ``/proc/self/fd/<fd of its directory>/<name>``, with the directory descriptor
held open while the target is in use (for a server: while it binds).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

# sun_path holds 108 bytes; gRPC's own parsing accepts at most 105 (measured with grpcio 1.85).
MAX_UNIX_PATH = 105


@contextlib.contextmanager
def unix_target(path: Path) -> Iterator[str]:
    """``unix://<path>``, or a short equivalent through the directory's descriptor."""
    if len(os.fsencode(path)) <= MAX_UNIX_PATH:
        yield f"unix://{path}"
        return
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"unix:///proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)
