"""`python -m demo [--once] [--local | --video]`: the Akri-py demo (see demo/__init__.py)."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from akri_common.k8s.client import connect
from akri_common.k8s.objects import Objects
from demo import local
from demo.cluster import CommandError, running
from demo.story import Story
from demo.video import VideoStory


async def cluster_demo(*, once: bool, video: bool = False) -> int:
    directory = Path(tempfile.mkdtemp(prefix="akri-demo-", dir="/tmp"))
    print(f"starting a two-node container cluster with our images in {directory} ...", flush=True)
    failed = False
    try:
        with running(directory) as demo:
            print(f"logs: {demo.testbed.directory / 'logs'}", flush=True)
            api = await connect(demo.testbed.kubeconfig)
            async with api:
                live = not once and sys.stdout.isatty()
                story: Story | VideoStory = (
                    VideoStory(demo, live=live)
                    if video
                    else Story(demo, Objects(api), live=live, step_pause=5.0 if live else 0.0)
                )
                task = asyncio.ensure_future(story.run())
                loop = asyncio.get_running_loop()
                for signum in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(signum, task.cancel)
                try:
                    await task
                except asyncio.CancelledError:
                    print("\nstopping ...", flush=True)
                    return 0
                except (TimeoutError, CommandError) as err:
                    failed = True
                    print(f"demo failed: {err}; logs kept in {directory}", flush=True)
                    return 1
                finally:
                    for signum in (signal.SIGINT, signal.SIGTERM):
                        loop.remove_signal_handler(signum)
        print("every step seen", flush=True)
        return 0
    finally:
        if not failed:
            shutil.rmtree(directory, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--once", action="store_true", help="run the story once and exit")
    parser.add_argument(
        "--local", action="store_true", help="no cluster: a handler and `akri discover --watch`"
    )
    parser.add_argument(
        "--video",
        action="store_true",
        help="the video story: cameras, video brokers and the streaming app's page",
    )
    args = parser.parse_args()
    if args.local and args.video:
        parser.error("--local and --video exclude each other (the video story needs the cluster)")
    if args.local:
        return asyncio.run(local.main_async(args.once))
    return asyncio.run(cluster_demo(once=args.once, video=args.video))


if __name__ == "__main__":
    sys.exit(main())
