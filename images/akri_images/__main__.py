"""``python -m akri_images build [names...]`` (``make images``); ``list``, ``locate``, ``records``,
``containerfile``."""

from __future__ import annotations

import argparse
import json
import sys

from akri_images.app import AppBuildError
from akri_images.base import BaseBuildError
from akri_images.build import ImagesNotBuiltError, build_images, describe, locate, records
from akri_images.catalog import IMAGES, UnknownImageError
from akri_images.containerfile import render


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m akri_images", description="Build Akri-py's OCI image archives."
    )
    commands = top.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build images (all by default); prints sizes, times")
    build.add_argument("names", nargs="*", help=f"image names: {', '.join(s.name for s in IMAGES)}")
    commands.add_parser("list", help="print the image names, refs and users")
    commands.add_parser("locate", help="print the current archives as JSON (builds nothing)")
    commands.add_parser("records", help="print where the current build records are (JSON)")
    commands.add_parser("containerfile", help="print the Containerfile generated from the table")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "build":
            build_images(args.names)
        elif args.command == "list":
            for spec in IMAGES:
                print(f"{spec.name}\t{spec.repository}\t{spec.user}\tpython3 -m {spec.module}")
        elif args.command == "records":
            print(json.dumps(records(), indent=2))
        elif args.command == "locate":
            found = locate()
            print(json.dumps({k: describe(v) for k, v in found.items()}, indent=2))
        else:
            sys.stdout.write(render())
    except (UnknownImageError, ImagesNotBuiltError, BaseBuildError, AppBuildError) as err:
        print(f"akri_images: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
