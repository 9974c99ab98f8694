"""``akri discover -f`` against 1,000 generated Configurations: exit 0, 1 or 2, one line on stderr
for 1 and 2, never a traceback or a hang.

The documents come from ``tests.support.configuration_fuzz`` with a fixed seed; the command runs
in this process (``akri_cli.__main__.main``, exactly what the console script calls) against a real
debugEcho handler process, so that the Configurations that parse go all the way through discovery.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from akri_cli.__main__ import main
from tests.support.configuration_fuzz import mutations

SEED = 13
COUNT = 1000


@pytest.fixture
def debug_echo(sockets_dir: Path, tmp_path: Path) -> Iterator[Path]:
    """A real debugEcho handler serving ``debugEcho.sock`` in ``sockets_dir``; stopped at the end."""
    socket = sockets_dir / "debugEcho.sock"
    env = {
        **os.environ,
        "DISCOVERY_HANDLERS_DIRECTORY": str(sockets_dir),
        "DEBUG_ECHO_AVAILABILITY_FILE": str(tmp_path / "availability.txt"),
        "DEBUG_ECHO_INSTANCES_SHARED": "true",
        "LOG_FORMAT": "json",
    }
    with (tmp_path / "handler.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "akri_debug_echo"], env=env, stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 15
        while not socket.exists():
            assert proc.poll() is None, (tmp_path / "handler.log").read_text()
            assert time.monotonic() < deadline, "the handler did not serve within 15 s"
            time.sleep(0.02)
        yield socket
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.timeout(600)
def test_generated_configurations_keep_the_contract(
    debug_echo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "configuration.yaml"
    codes: Counter[int] = Counter()
    for i, document in enumerate(mutations(SEED, COUNT)):
        path.write_bytes(document)
        code = main(
            ["discover", "-f", str(path), "--endpoint", f"unix://{debug_echo}", "--timeout", "5"]
        )
        out, err = capsys.readouterr()
        case = f"case {i}: exit {code}, stderr {err[:300]!r}, document {document[:300]!r}"
        assert code in (0, 1, 2), case
        assert "Traceback" not in err, case
        if code == 0:
            assert out, case
        else:
            assert out == "", case
            assert err.count("\n") == 1, case
            assert err.startswith("akri discover: error: "), case
            assert len(err) <= 1000, case
        codes[code] += 1
    print(f"exit codes over {COUNT} generated Configurations: {dict(sorted(codes.items()))}")
    assert codes[0] > 50, "too few valid Configurations: the fuzz test tests little"
    assert codes[2] > 300
