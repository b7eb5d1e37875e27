"""Device-loop benchmark: what one camera frame costs beyond the network itself.

Measured in one run, with the default configuration (full-range BlazeFace, 1280x720
camera frames; a generated viewer walking past, tracked with one crop per frame):
  1. bare BlazeFace invoke() vs the full per-frame cost while tracking (camera hand-off
     + crop letterbox + invoke + post-processing + gaze + display update), and their
     ratio (goal <= 1.25); and what one search of the empty room costs (the whole frame
     plus the tiles), in invokes, for information;
  2. the patch display update at 1920x1080 (goal <= 1 ms);
  3. peak resident memory of a run with a 33-frame 1080p pack (goal <= 150 MB);
  4. CPU seconds per wall second of a real-time 30 fps run with a viewer in view and
     with an empty room, searched at the idle rate (goal: empty room <= 1/4 of the
     viewer case).

    python bench/device_loop.py [--threads N] [--seconds S]

Timings are medians; the machine is shared, so compare ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from device import demo  # noqa: E402
from device.camera import VideoFileCamera  # noqa: E402
from device.capture import Camera, FrameListCamera  # noqa: E402
from device.detector import BlazeFaceDetector  # noqa: E402
from device.display import PygameDisplay  # noqa: E402
from device.gaze import GazeSettings  # noqa: E402
from device.pack import FramePack, load_pack, write_pack  # noqa: E402
from device.pipeline import GazePipeline  # noqa: E402
from device.services.config import Config  # noqa: E402
from device.services.memory import return_free_memory  # noqa: E402
from device.services.notify import RecordingNotifier  # noqa: E402
from device.services.service import FrameService, search_settings  # noqa: E402

SCREEN_WH = (1920, 1080)
PACK_HEIGHT_PX = 1080
CONFIG = Config()  # the defaults: what a frame on the wall runs
CAMERA_WH = (CONFIG.camera.width, CONFIG.camera.height)
MODEL = CONFIG.detector.model
FPS = 30.0
GOALS = {"ratio": 1.25, "patch_ms": 1.0, "rss_mb": 150.0, "cpu_ratio": 0.25}


def portrait_1080p() -> np.ndarray:
    """The astronaut photo enlarged to 1080 px tall: a 1080p-class portrait, (H, W, 3) RGB."""
    photo = demo.face_photo("astronaut")
    return cv2.resize(photo, (PACK_HEIGHT_PX, PACK_HEIGHT_PX), interpolation=cv2.INTER_CUBIC)


def make_pack_1080p(root: Path, detector: BlazeFaceDetector) -> FramePack:
    base = portrait_1080p()
    face = max(detector.detect(base), key=lambda f: f.area_px)
    patch = demo.head_rect(face, (base.shape[1], base.shape[0]))
    yaw = demo.DEMO_YAW_DEG
    patches = [demo.label_patch(base[patch.slices], i, a, max(yaw)) for i, a in enumerate(yaw)]
    return load_pack(write_pack(root, base, patch, patches, yaw, force=True))


def viewer_frames(detector: BlazeFaceDetector, tmp: Path, seconds: float) -> list[np.ndarray]:
    path = demo.ViewerPath(walk_s=seconds * 0.7, still_s=seconds * 0.3)
    video = demo.write_viewer_video(
        tmp / "viewer.mp4", detector.detect, "astronaut", path, CAMERA_WH, FPS
    )
    cap = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            return frames
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def per_frame_costs(
    pack: FramePack,
    frames: list[np.ndarray],
    empty: list[np.ndarray],
    threads: int,
    paced: bool,
) -> dict[str, float]:
    """Bare invoke vs full per-frame cost on the same frames, in one loop.

    Each iteration times the hand-off from the capture thread, detection, gaze and
    the display update, and keeps the bare invoke() time of the same frame.
    paced=False: back to back, the next frame always waiting (a busy frame).
    paced=True: a real-time 30 fps camera; the loop sleeps (untimed) until the next
    frame is surely captured, so caches and clocks cool down between frames as they
    do on the wall.
    """
    with (
        BlazeFaceDetector(MODEL, num_threads=threads) as detector,
        PygameDisplay(pack, fullscreen=False, window_size=SCREEN_WH) as display,
        FrameListCamera(frames, FPS, realtime=paced) as camera,
    ):
        pipeline = GazePipeline(
            detector,
            pack.yaw_deg,
            GazeSettings(),
            CONFIG.detector.idle_rate_hz,
            search=search_settings(CONFIG),
        )
        for frame in frames[:20]:  # warm-up: XNNPACK packs weights on the first invokes
            detector.detect(frame)
        invokes, totals, seq = [], [], 0
        next_due = time.monotonic()
        while not camera.ended:
            if paced:
                time.sleep(max(0.0, next_due - time.monotonic()))
            start = time.perf_counter()
            frame = camera.latest(seq, 1.0)
            if frame is None:
                break
            result = pipeline.process(frame.t_capture, frame.image_rgb)
            display.show(result.frame_index)
            totals.append(time.perf_counter() - start)
            invokes.append(detector.invoke_seconds)
            seq = frame.seq
            next_due = frame.t_capture + 1.5 / FPS  # mid-way to the frame after next
        # Patch update: alternate two frames so every show() really redraws.
        updates = []
        for i in range(200):
            display.show(i % 2)
            updates.append(display.last_update_seconds)
        # One search of an empty room (the whole frame + the tiles), for information.
        searches = []
        for frame in empty:
            start = time.perf_counter()
            pipeline.finder.search(frame)
            searches.append(time.perf_counter() - start)
    invoke_ms = statistics.median(invokes) * 1e3
    total_ms = statistics.median(totals) * 1e3
    return {
        "frames": len(totals),
        "invoke_ms": invoke_ms,
        "total_ms": total_ms,
        "ratio": total_ms / invoke_ms,
        "patch_ms": statistics.median(updates) * 1e3,
        "search_invokes": statistics.median(searches) * 1e3 / invoke_ms,
    }


def service_cpu(
    pack: FramePack, open_camera: Callable[[], Camera], seconds: float, threads: int
) -> float:
    """CPU seconds per wall second of the real service loop on a real-time camera.

    Opens detector, display and camera in the order `mona-frame run` does.
    """
    with (
        BlazeFaceDetector(MODEL, num_threads=threads) as detector,
        PygameDisplay(pack, fullscreen=False, window_size=SCREEN_WH) as display,
    ):
        pack = pack.without_pixels()  # as `mona-frame run` does once the display is up
        return_free_memory()
        with open_camera() as camera:
            return _run_service(pack, camera, detector, display, seconds)


def _run_service(
    pack: FramePack,
    camera: Camera,
    detector: BlazeFaceDetector,
    display: PygameDisplay,
    seconds: float,
) -> float:
    service = FrameService(CONFIG, pack, camera, detector, display, RecordingNotifier())
    stop = threading.Event()
    threading.Timer(seconds, stop.set).start()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    service.run(stop)
    return (time.process_time() - cpu0) / (time.perf_counter() - wall0)


def child_memory(pack_dir: str, video: str, seconds: float) -> None:
    """Run the real service on the 1080p pack and a looping video; print peak RSS (MB)."""

    def camera() -> Camera:
        return VideoFileCamera(video, loop=True, realtime=True)

    service_cpu(load_pack(pack_dir), camera, seconds, threads=1)  # holds no pack reference
    status = Path("/proc/self/status").read_text().splitlines()
    hwm_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(hwm_kb / 1024)


def verdict(value: float, goal: float) -> str:
    return "ok" if value <= goal else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="detector threads (default 1)")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each CPU run")
    parser.add_argument(
        "--child-memory", nargs=3, metavar=("PACK", "VIDEO", "SECONDS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child_memory:
        child_memory(args.child_memory[0], args.child_memory[1], float(args.child_memory[2]))
        return 0

    with tempfile.TemporaryDirectory() as tmp_name, BlazeFaceDetector(MODEL) as detector:
        tmp = Path(tmp_name)
        pack = make_pack_1080p(tmp / "pack", detector)
        frames = viewer_frames(detector, tmp, seconds=6.0)
        empty = [demo.room_background(CAMERA_WH)] * len(frames)
        # Sensor noise keeps the empty room honest: the detector sees real pixels each time.
        rng = np.random.default_rng(0)
        empty = [
            np.clip(f + rng.normal(0, demo.SENSOR_NOISE_SIGMA, f.shape), 0, 255).astype(np.uint8)
            for f in empty[:60]
        ]

        costs = per_frame_costs(pack, frames, empty, args.threads, paced=False)
        paced = per_frame_costs(pack, frames, empty, args.threads, paced=True)
        standing = frames[-60:]  # the viewer standing still

        def viewer_cam() -> Camera:
            return FrameListCamera(standing, FPS, loop=True)

        def empty_cam() -> Camera:
            return FrameListCamera(empty, FPS, loop=True)

        cpu_viewer = service_cpu(pack, viewer_cam, args.seconds, args.threads)
        cpu_empty = service_cpu(pack, empty_cam, args.seconds, args.threads)
        video = str(tmp / "viewer.mp4")
        out = subprocess.run(
            [sys.executable, __file__, "--child-memory", str(pack.root), video, "3"],
            capture_output=True,
            text=True,
            check=True,
        )
        rss_mb = float(out.stdout.strip().splitlines()[-1])

    w, h = pack.base_size
    cpu_ratio = cpu_empty / cpu_viewer
    print(
        f"device loop benchmark ({MODEL}, {args.threads} detector thread(s); {costs['frames']} "
        f"frames {CAMERA_WH[0]}x{CAMERA_WH[1]}; pack {w}x{h}, 33 frames, patch "
        f"{pack.patch.width}x{pack.patch.height}; screen {SCREEN_WH[0]}x{SCREEN_WH[1]}; "
        f"empty room searched at {CONFIG.detector.idle_rate_hz:g} Hz)"
    )
    rows = [
        ("bare invoke(), back to back", f"{costs['invoke_ms']:.3f} ms", ""),
        ("full per-frame cost tracking, back to back", f"{costs['total_ms']:.3f} ms", ""),
        (
            "ratio full / invoke, back to back",
            f"{costs['ratio']:.2f}",
            f"goal <= {GOALS['ratio']}: " + verdict(costs["ratio"], GOALS["ratio"]),
        ),
        ("bare invoke(), paced 30 fps", f"{paced['invoke_ms']:.3f} ms", ""),
        ("full per-frame cost tracking, paced 30 fps", f"{paced['total_ms']:.3f} ms", ""),
        ("ratio full / invoke, paced 30 fps", f"{paced['ratio']:.2f}", "(for information)"),
        (
            "one search (whole frame + tiles) / invoke",
            f"{costs['search_invokes']:.2f}",
            "(for information)",
        ),
        (
            "patch display update",
            f"{costs['patch_ms']:.3f} ms",
            f"goal <= {GOALS['patch_ms']} ms: " + verdict(costs["patch_ms"], GOALS["patch_ms"]),
        ),
        (
            "peak RSS, 1080p pack run",
            f"{rss_mb:.0f} MB",
            f"goal <= {GOALS['rss_mb']:.0f} MB: " + verdict(rss_mb, GOALS["rss_mb"]),
        ),
        ("CPU, viewer in view", f"{cpu_viewer:.3f} s/s", ""),
        ("CPU, empty room", f"{cpu_empty:.3f} s/s", ""),
        (
            "CPU empty / viewer",
            f"{cpu_ratio:.2f}",
            f"goal <= {GOALS['cpu_ratio']}: " + verdict(cpu_ratio, GOALS["cpu_ratio"]),
        ),
    ]
    print("| measure | value | goal |\n|---|---|---|")
    for name, value, goal in rows:
        print(f"| {name} | {value} | {goal} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
