"""Both routes install the same packages: the Containerfile and ``make images`` read one table.

The committed ``images/Containerfile`` must be what the tables generate now, and parsing it must
give, per target, the catalog's extra, user and entrypoint, and for the base the Debian package
list ``make images`` gives debootstrap.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from akri_images import app, base
from akri_images.catalog import IMAGES, SITE_DIR
from akri_images.containerfile import render

CONTAINERFILE = Path(__file__).resolve().parents[2] / "images" / "Containerfile"


def _stages(text: str) -> dict[str, list[str]]:
    """Instructions per stage name, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    stages: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"FROM\s+(\S+)\s+AS\s+(\S+)", line)
        if match:
            current = stages.setdefault(match.group(2), [f"FROM {match.group(1)}"])
        elif current is not None:
            current.append(line)
    return stages


def _instruction(stage: list[str], keyword: str) -> list[str]:
    return [line[len(keyword) + 1 :] for line in stage if line.startswith(f"{keyword} ")]


def test_committed_containerfile_is_the_generated_one() -> None:
    assert CONTAINERFILE.read_text() == render(), (
        "images/Containerfile is stale: run python -m akri_images containerfile > images/Containerfile"
    )


def test_base_stage_installs_the_debootstrap_package_list() -> None:
    stages = _stages(CONTAINERFILE.read_text())
    (run,) = _instruction(stages["base"], "RUN")
    installed = re.search(r"apt-get install -y --no-install-recommends ([^&]+)&&", run)
    assert installed is not None
    assert sorted(installed.group(1).split()) == sorted(base.PACKAGES)
    assert stages["base"][0] == f"FROM docker.io/library/debian:{base.SUITE}"


def test_every_target_installs_exactly_its_extra_and_runs_its_module() -> None:
    stages = _stages(CONTAINERFILE.read_text())
    extras = app.extras()
    for spec in IMAGES:
        target = stages[spec.name]
        if spec.native:
            # The same program the native layer holds: its folder built by the Go toolchain, on
            # scratch, run as the same user.
            assert target[0] == "FROM scratch"
            (copy,) = _instruction(target, "COPY")
            assert copy == f"--from=build-{spec.name} /{spec.program} /{spec.program}"
            build = stages[f"build-{spec.name}"]
            assert _instruction(build, "COPY") == [f"{spec.native} ."]
            assert _instruction(target, "USER") == [spec.user]
            (entrypoint,) = _instruction(target, "ENTRYPOINT")
            assert json.loads(entrypoint) == [f"/{spec.program}"]
            continue
        assert target[0] == "FROM base"
        (copy,) = _instruction(target, "COPY")
        site_stage = copy.split()[0].removeprefix("--from=")
        (run,) = _instruction(stages[site_stage], "RUN")
        installed = re.findall(r"\[([a-z-]+)\]", run)
        assert installed == [spec.extra], (spec.name, run)
        assert spec.extra in extras
        assert f"--target {SITE_DIR}" in run
        assert _instruction(target, "USER") == [spec.user]
        (entrypoint,) = _instruction(target, "ENTRYPOINT")
        assert json.loads(entrypoint) == ["python3", "-m", spec.module]
    targets = {name for name in stages if not name.startswith(("site-", "build-"))} - {
        "base",
        "wheel",
    }
    assert targets == {spec.name for spec in IMAGES}


def test_every_image_extra_exists_and_every_service_extra_has_an_image() -> None:
    extras = set(app.extras())
    used = {spec.extra for spec in IMAGES if not spec.native}
    assert used <= extras
    assert extras - used == {"cli", "dev"}
