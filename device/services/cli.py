"""`mona-frame` command line: run, check, simulate.

Every error a person can cause ends in one line on stderr and a non-zero exit:
78 (EX_CONFIG, which the systemd unit does not restart on) for a bad config, pack or
model installation, 1 for a camera or display that may come back, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from device import __version__
from device.errors import ConfigError, ModelError, MonaFrameError, PackError

EX_CONFIG = 78  # sysexits.h: configuration error
EX_FAILURE = 1
EX_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
# The generated viewer of `simulate` walks past this far from the camera: beyond the
# whole-frame pass's reach, so the demo shows a tiled search finding them, then tracking.
DEMO_VIEWER_DISTANCE_M = 2.5
# Narrowest face each model finds, as a fraction of the side of the square it runs on
# (measured on the package photos: 12 px of full range's 192, 13 px of short range's 128).
SMALLEST_FACE_OF_INPUT = {"full_range": 0.065, "short_range": 0.1}

log = logging.getLogger("mona_frame")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mona-frame"


def exit_status(error: MonaFrameError) -> int:
    return EX_CONFIG if isinstance(error, ConfigError | PackError | ModelError) else EX_FAILURE


def _with(obj: Any, section: str, **changes: Any) -> Any:
    """`obj` with some keys of one config section replaced (None values are left alone)."""
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        return obj
    return dataclasses.replace(
        obj, **{section: dataclasses.replace(getattr(obj, section), **changes)}
    )


def load_settings(args: argparse.Namespace) -> Any:
    from device.services.config import load_config

    config = load_config(Path(args.config) if args.config else None)
    config = _with(config, "pack", path=getattr(args, "pack", None))
    config = _with(config, "camera", source=getattr(args, "camera", None))
    if getattr(args, "windowed", False):
        config = _with(config, "display", fullscreen=False)
    return _with(config, "display", driver=getattr(args, "driver", None))


def open_detector(config: Any) -> Any:
    from device.detector import BlazeFaceDetector

    d = config.detector
    return BlazeFaceDetector(
        model=d.model,
        model_dir=Path(d.model_dir) if d.model_dir else None,
        num_threads=d.num_threads,
        min_score=d.min_score,
    )


def open_camera_from(config: Any) -> Any:
    from device.camera import open_camera

    c = config.camera
    return open_camera(c.source, c.width, c.height, c.fps, loop=c.loop, realtime=c.realtime)


def open_display(config: Any, pack: Any) -> Any:
    from device.display import PygameDisplay

    d = config.display
    size = (d.window_width, d.window_height) if d.window_width and d.window_height else None
    return PygameDisplay(
        pack,
        rotation=d.rotation,
        border_rgb=d.border_rgb,
        fullscreen=d.fullscreen,
        window_size=size,
        driver=d.driver or None,
    )


def cmd_run(args: argparse.Namespace) -> int:
    from device.pack import load_pack
    from device.services.logs import configure_logging
    from device.services.memory import return_free_memory
    from device.services.notify import make_notifier
    from device.services.service import FrameService

    config = load_settings(args)
    configure_logging(config.service.log_level)
    notifier = make_notifier()
    pack = load_pack(config.pack.path)
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        with open_detector(config) as detector, open_display(config, pack) as display:
            # The display keeps its own screen-sized copies: the full-size pixels and the
            # scaling's scratch memory go back before the camera starts filling buffers.
            pack = pack.without_pixels()
            return_free_memory()
            with open_camera_from(config) as camera:
                FrameService(config, pack, camera, detector, display, notifier).run(stop)
    finally:
        notifier.stopping()
    log.info("stopped")
    return 0


def _check(
    name: str, action: Callable[[], str], report: list[tuple[str, bool, str]]
) -> int | None:
    """Run one check and add its line to `report`; None if it passed, else the exit
    status its error calls for (see exit_status)."""
    try:
        detail = action()
    except MonaFrameError as exc:
        report.append((name, False, str(exc)))
        return exit_status(exc)
    report.append((name, True, detail))
    return None


def cmd_check(args: argparse.Namespace) -> int:
    """Verify config, pack, model, camera and display; print one line each."""
    from device.pack import load_pack

    config = load_settings(args)  # a bad config stops here, with exit 78
    report: list[tuple[str, bool, str]] = [
        ("config", True, args.config or "defaults / /etc/mona-frame/config.toml")
    ]
    packs: list[Any] = []

    def check_pack() -> str:
        pack = load_pack(config.pack.path)
        packs.append(pack)
        w, h = pack.base_size
        return (
            f"{pack.root}: {pack.n_frames} frames, {w}x{h}, "
            f"patch {pack.patch.width}x{pack.patch.height}, "
            f"yaw {pack.yaw_deg[0]:+.0f}..{pack.yaw_deg[-1]:+.0f}°"
        )

    def check_model() -> str:
        with open_detector(config) as detector:
            return (
                f"{config.detector.model} loaded ({detector.model_path.name}); "
                + describe_search(config)
            )

    def check_camera() -> str:
        with open_camera_from(config) as camera:
            camera.start()
            frame = camera.latest(0, 5.0)
            if frame is None:
                raise MonaFrameError(
                    f"camera {config.camera.source!r} delivered no frame within 5 s"
                )
            height, width = frame.image_rgb.shape[:2]
            return f"{config.camera.source}: {width}x{height} frames"

    def check_display() -> str:
        if not packs:
            raise MonaFrameError("skipped: needs a valid pack")
        with open_display(config, packs[0]) as display:
            return f"opened ({display.describe()})" if hasattr(display, "describe") else "opened"

    failures = [
        status
        for status in (
            _check("pack", check_pack, report),
            _check("model", check_model, report),
            _check("camera", check_camera, report),
            _check("display", check_display, report),
        )
        if status is not None
    ]
    for name, good, detail in report:
        print(f"{'ok  ' if good else 'FAIL'}  {name:8s} {detail}")
    # 78 when the config, pack or model is at fault (as `run` would exit); 1 when only
    # the camera or display failed.
    if EX_CONFIG in failures:
        return EX_CONFIG
    return EX_FAILURE if failures else 0


def describe_search(config: Any) -> str:
    """One line on how a search covers the configured camera frame, and how far it sees."""
    from device.optics import face_distance_m
    from device.search import search_layout
    from device.services.service import search_settings

    c = config.camera
    layout = search_layout(c.width, c.height, search_settings(config))
    if not layout.tiles_px:
        return f"search: the whole {c.width}x{c.height} frame only"
    x0, y0, x1, y1 = layout.tiles_px[0]
    smallest_px = SMALLEST_FACE_OF_INPUT[config.detector.model] * (x1 - x0)
    far_m = face_distance_m(smallest_px, c.width, c.horizontal_fov_deg)
    return (
        f"search: whole {c.width}x{c.height} frame + {len(layout.tiles_px)} tiles of "
        f"{x1 - x0}x{y1 - y0} px (faces down to ~{smallest_px:.0f} px, ~{far_m:.1f} m)"
    )


def cmd_simulate(args: argparse.Namespace) -> int:
    from device import demo
    from device.optics import face_width_px
    from device.pack import load_pack
    from device.services.service import make_pipeline
    from device.simulate import simulate

    config = load_settings(args)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with open_detector(config) as detector:
        if args.pack:
            pack = load_pack(args.pack)
        else:
            pack = demo.load_or_make_demo_pack(cache_dir(), detector.detect)
            print(f"using the built-in demo pack ({pack.root})", file=sys.stderr)
        viewer = Path(args.viewer) if args.viewer else None
        if viewer is None:
            c = config.camera
            face_px = face_width_px(DEMO_VIEWER_DISTANCE_M, c.width, c.horizontal_fov_deg)
            viewer = demo.write_viewer_video(
                cache_dir() / "demo-viewer.mp4",
                detector.detect,
                path=demo.ViewerPath(face_width=face_px / c.width),
                size=(c.width, c.height),
            )
            print(
                f"using a generated viewer video ({viewer}): a viewer "
                f"{DEMO_VIEWER_DISTANCE_M:g} m away walking past",
                file=sys.stderr,
            )
        elif not viewer.is_file():
            raise MonaFrameError(f"{viewer}: viewer video not found")
        summary = simulate(
            viewer,
            pack,
            make_pipeline(config, pack, detector),
            Path(args.out),
            Path(args.trace) if args.trace else None,
            progress=not args.no_progress,
        )
    print(
        f"{summary.frames} camera frames, {summary.detections} detections; portrait frame "
        f"{summary.first_index + 1} → {summary.last_index + 1} of {pack.n_frames} with "
        f"{summary.frame_changes} changes; wrote {summary.out}"
        + (f" and {summary.trace}" if summary.trace else "")
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mona-frame", description="A portrait whose eyes follow whoever stands in front of it."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--config",
            metavar="PATH",
            help="config file (default: /etc/mona-frame/config.toml if it exists)",
        )
        p.add_argument("--pack", metavar="DIR", help="frame pack directory (overrides pack.path)")

    run = sub.add_parser("run", help="show the portrait and follow viewers (what the service runs)")
    common(run)
    run.add_argument(
        "--camera", metavar="SOURCE", help="picamera2, usb:N, /dev/videoN or a video file"
    )
    run.add_argument("--windowed", action="store_true", help="a window instead of fullscreen")
    run.add_argument(
        "--driver", metavar="NAME", help="SDL video driver (kmsdrm, x11, wayland, dummy)"
    )
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="verify pack, model, camera and display, then exit")
    common(check)
    check.add_argument(
        "--camera", metavar="SOURCE", help="picamera2, usb:N, /dev/videoN or a video file"
    )
    check.add_argument(
        "--driver", metavar="NAME", help="SDL video driver (kmsdrm, x11, wayland, dummy)"
    )
    check.set_defaults(func=cmd_check)

    sim = sub.add_parser(
        "simulate", help="render what the frame would do for a viewer video (headless)"
    )
    common(sim)
    sim.add_argument(
        "--viewer", metavar="VIDEO", help="camera video (default: a generated viewer walking past)"
    )
    sim.add_argument(
        "--out",
        metavar="OUT.mp4",
        default="simulation.mp4",
        help="side-by-side video to write (default: %(default)s)",
    )
    sim.add_argument(
        "--trace", metavar="FILE.jsonl", help="also write one JSON line per camera frame"
    )
    sim.add_argument("--no-progress", action="store_true", help="no progress bar")
    sim.set_defaults(func=cmd_simulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except MonaFrameError as exc:
        print(f"mona-frame: error: {exc}", file=sys.stderr)
        return exit_status(exc)
    except KeyboardInterrupt:
        print("mona-frame: interrupted", file=sys.stderr)
        return EX_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
