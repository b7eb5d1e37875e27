"""Build-step benchmark: seconds per frame for `build-frames eyes` and for blending alone.

On a ~2000-px-tall portrait (the Mona Lisa from ../shared/data when it is there, else
Grace Hopper enlarged to 2048 px tall), measures
  1. the portrait analysis (BlazeFace, face mesh, irises) and the per-eye preparation;
  2. one gaze frame of `eyes` (render + blend), median over the frames;
  3. the whole `eyes` command end to end (read, analyse, 33 frames, write the pack),
     per frame: the goal is <= 0.5 s on the 2-core development machine;
  4. the same with --head-turn 4 (the whole head is warped and written);
  5. blending alone: 33 generated 256-px heads resized back to a head crop,
     colour-matched and blended, per frame; and the `blend` command end to end.

    python bench/build_frames.py [--portrait PATH] [--repeats N]

Timings are medians of wall-clock seconds; the machine is shared, so run it twice.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# This script has the package's name: without bench/ on the import path, `import
# build_frames` finds the package instead of this file.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from build_frames import blend, heads, synthesis  # noqa: E402
from build_frames.cli import main as build_frames_main  # noqa: E402
from build_frames.cmd_eyes import analyse_portrait  # noqa: E402
from build_frames.image_io import Portrait, read_portrait  # noqa: E402
from device import demo  # noqa: E402
from device.pack import PatchRect  # noqa: E402

SHARED_PORTRAIT = Path(__file__).resolve().parents[2] / "shared" / "data" / "mona_lisa.jpg"
FALLBACK_HEIGHT_PX = 2048
FRAMES = 33
GOAL_S_PER_FRAME = 0.5
# A FOMM-style generated head: 256 px, as the vox-256 model outputs.
GENERATED_HEAD_PX = 256


def load_portrait(path: str | None, tmp: Path) -> tuple[Portrait, str]:
    """The benchmark portrait and a description of it."""
    if path is None and SHARED_PORTRAIT.is_file():
        path = str(SHARED_PORTRAIT)
    if path is None:
        photo = demo.face_photo("grace_hopper")
        scale = FALLBACK_HEIGHT_PX / photo.shape[0]
        big = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        path = str(tmp / "grace_hopper_2048.png")
        cv2.imwrite(path, cv2.cvtColor(big, cv2.COLOR_RGB2BGR))
    portrait = read_portrait(path)
    return portrait, f"{Path(path).name} {portrait.size[0]}x{portrait.size[1]}"


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_cli(argv: list[str]) -> float:
    """Seconds one in-process `build-frames` run takes (its output swallowed)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        start = time.perf_counter()
        status = build_frames_main(argv)
        seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"build-frames {' '.join(argv)} failed with status {status}")
    return seconds


def generated_heads(image: np.ndarray, crop: PatchRect, n: int) -> list[np.ndarray]:
    """n stand-ins for generator output: the crop at 256 px with shifted colours."""
    head = cv2.resize(image[crop.slices], (GENERATED_HEAD_PX, GENERATED_HEAD_PX),
                      interpolation=cv2.INTER_AREA).astype(np.int16)
    return [np.clip(head + (i % 7 - 3, 12, -8), 0, 255).astype(np.uint8) for i in range(n)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portrait", help="image file (default: the Mona Lisa from ../shared)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measure (median)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        portrait, described = load_portrait(args.portrait, tmp)
        image = portrait.rgb

        analyse_s = median_seconds(lambda: analyse_portrait(portrait, None, False), args.repeats)
        result = analyse_portrait(portrait, None, False)
        spec = blend.alpha_spec("ellipse", None, None, None, synthesis.head_box(result))
        prepare_s = median_seconds(
            lambda: synthesis.EyesSynthesis(image, result, spec, 0.0, (-30.0, 30.0)),
            args.repeats,
        )
        synth = synthesis.EyesSynthesis(image, result, spec, 0.0, (-30.0, 30.0))
        yaws = synthesis.gaze_table(FRAMES, (-30.0, 30.0)).yaw_deg
        frame_s = statistics.median(
            median_seconds(lambda y=yaw: synth.frame(y, 0.0), args.repeats) for yaw in yaws
        )

        source = portrait.source
        eyes_cmd = ["eyes", source, "--out", str(tmp / "eyes"), "--force", "--no-progress"]
        eyes_s = statistics.median(run_cli(eyes_cmd) for _ in range(args.repeats)) / FRAMES
        turn_cmd = [*eyes_cmd[:3], str(tmp / "turn"), "--force", "--no-progress",
                    "--head-turn", "4"]
        turn_s = statistics.median(run_cli(turn_cmd) for _ in range(args.repeats)) / FRAMES

        x0, y0, x1, y1 = synthesis.head_box(result)
        side = int(min(x1 - x0, y1 - y0, *image.shape[:2]))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        left = int(np.clip(cx - side / 2, 0, image.shape[1] - side))
        top = int(np.clip(cy - side / 2, 0, image.shape[0] - side))
        crop = PatchRect(left, top, side, side)
        generated = generated_heads(image, crop, FRAMES)
        crop_spec = blend.alpha_spec("ellipse", None, None, None,
                                     (left, top, left + side, top + side))
        blend_s = median_seconds(
            lambda: heads.blend_heads(image, generated, crop, crop_spec), args.repeats
        ) / FRAMES
        folder = tmp / "heads"
        folder.mkdir()
        for i, head in enumerate(generated):
            cv2.imwrite(str(folder / f"head_{i:03d}.png"), cv2.cvtColor(head, cv2.COLOR_RGB2BGR))
        blend_cmd = ["blend", source, str(folder), "--crop", str(left), str(top), str(side),
                     str(side), "--out", str(tmp / "blend"), "--force", "--no-progress"]
        blend_cmd_s = statistics.median(run_cli(blend_cmd) for _ in range(args.repeats)) / FRAMES

    def goal(seconds: float) -> str:
        verdict = "ok" if seconds <= GOAL_S_PER_FRAME else "MISSED"
        return f"goal <= {GOAL_S_PER_FRAME} s: {verdict}"

    print(f"build-frames benchmark ({described}; {FRAMES} frames; head crop {side}x{side} px "
          f"from {GENERATED_HEAD_PX}-px heads; medians of {args.repeats}):\n")
    rows = [
        ("analysis: faces, mesh, irises (once)", f"{analyse_s:.3f} s", ""),
        ("prepare both eyes (once)", f"{prepare_s:.3f} s", ""),
        ("`eyes`: one gaze frame, render + blend", f"{frame_s * 1000:.2f} ms", ""),
        ("`eyes` command end to end, per frame", f"{eyes_s:.3f} s", goal(eyes_s)),
        ("`eyes --head-turn 4` end to end, per frame", f"{turn_s:.3f} s", goal(turn_s)),
        ("blending alone (resize, colour match, blend), per frame", f"{blend_s:.3f} s", ""),
        ("`blend` command end to end, per frame", f"{blend_cmd_s:.3f} s", goal(blend_cmd_s)),
    ]
    print("| measure | value | goal |\n|---|---|---|")
    for name, value, target in rows:
        print(f"| {name} | {value} | {target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
