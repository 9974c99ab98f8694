"""``akri discover -f`` against 1,000 generated Configurations: exit 0, 1 or 2, one line on stderr
for 1 and 2, never a traceback or a hang.

The documents come from ``tests.support.configuration_fuzz`` with a fixed seed. A document the
command refuses while reading it is run in this process (``akri_cli.__main__.main``, what the
console script calls: fast, and nothing of gRPC is involved yet); one it accepts is run as the real
``python -m akri_cli`` process (grpc.aio binds itself to one event loop per process) against a
real debugEcho handler process, so that it goes all the way through discovery.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from akri_cli.__main__ import main
from akri_cli.discover import CommandError, load_configuration
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
            time.sleep(0.02)  # wait-ok: poll interval of a loop with a deadline
        yield socket
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_akri(path: Path, socket: Path) -> tuple[int, str, str]:
    """``akri discover -f path`` as its own process, within 60 s."""
    done = subprocess.run(
        [sys.executable, "-m", "akri_cli", "discover", "-f", str(path),
         "--endpoint", f"unix://{socket}", "--timeout", "5"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def check_contract(i: int, document: bytes, code: int, out: str, err: str) -> int:
    """Exit 0, 1 or 2; output only with 0; otherwise one short line on stderr; no traceback."""
    case = f"case {i}: exit {code}, stderr {err[:2000]!r}, document {document[:300]!r}"
    assert code in (0, 1, 2), case
    assert "Traceback" not in err, case
    if code == 0:
        assert out, case
    else:
        assert out == "", case
        assert err.count("\n") == 1, case
        assert err.startswith("akri discover: error: "), case
        assert len(err) <= 1000, case
    return code


@pytest.mark.timeout(900)
def test_generated_configurations_keep_the_contract(
    debug_echo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    codes: Counter[int] = Counter()
    accepted: list[tuple[int, bytes, Path]] = []
    for i, document in enumerate(mutations(SEED, COUNT)):
        path = tmp_path / f"configuration-{i}.yaml"
        path.write_bytes(document)
        try:
            load_configuration(path)
        except CommandError:
            code = main(["discover", "-f", str(path), "--endpoint", f"unix://{debug_echo}"])
            out, err = capsys.readouterr()
            codes[check_contract(i, document, code, out, err)] += 1
        else:
            accepted.append((i, document, path))
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = pool.map(lambda case: run_akri(case[2], debug_echo), accepted)
        for (i, document, _), (code, out, err) in zip(accepted, runs, strict=True):
            codes[check_contract(i, document, code, out, err)] += 1
    print(f"exit codes over {COUNT} generated Configurations: {dict(sorted(codes.items()))}")
    assert codes[0] > 50, "too few valid Configurations: the fuzz test tests little"
    assert codes[2] > 300
