"""``python -m tests.integration.onvif_support.fetch URL``: prints the body of one HTTP GET.

For reading a handler's ``/metrics`` from inside its network namespace.
"""

from __future__ import annotations

import sys
import urllib.request

if __name__ == "__main__":
    with urllib.request.urlopen(sys.argv[1], timeout=10) as response:
        sys.stdout.write(response.read().decode())
