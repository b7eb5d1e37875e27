"""`build-frames preview PACK` and `build-frames analyse PORTRAIT --out PNG`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from build_frames import preview, progress
from build_frames.analysis import FaceAnalysis
from build_frames.errors import BuildError
from build_frames.image_io import read_portrait
from device.pack import load_pack

# Annotation colours (RGB): eyelid polygon, iris circle and centre, face box.
LID_RGB = (255, 64, 0)
IRIS_RGB = (255, 0, 255)
FACE_RGB = (0, 255, 0)


def write_png(path: Path, rgb: npt.NDArray[np.uint8]) -> None:
    if path.suffix.lower() != ".png":
        raise BuildError(f"{path}: must be a .png file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise BuildError(f"{path}: cannot write the PNG")


def run_preview(args: argparse.Namespace) -> int:
    root = Path(args.pack)
    if args.animation:
        preview.animation_path_ok(Path(args.animation))
    pack = load_pack(root)
    # The defaults go beside the pack, named after it; made absolute first so that `.` or
    # `pack/..` has a name (abspath, not resolve: a symlinked pack keeps its own name).
    beside = Path(os.path.abspath(root))
    sheet_path = Path(args.sheet) if args.sheet else beside.with_name(f"{beside.name}-sheet.png")
    anim_path = (
        Path(args.animation) if args.animation else beside.with_name(f"{beside.name}-sweep.gif")
    )
    write_png(sheet_path, preview.contact_sheet(pack))
    frames = preview.sweep_frames(pack)
    with progress.bar(len(frames), "animation", not args.no_progress) as bar:
        preview.write_animation(anim_path, frames, on_frame=lambda: bar.update(1))
    print(
        f"wrote {sheet_path} ({pack.n_frames} frames) and {anim_path} "
        f"({len(frames)} frames at {preview.ANIMATION_FPS:g} fps)"
    )
    return 0


def annotate(image: npt.NDArray[np.uint8], result: FaceAnalysis) -> npt.NDArray[np.uint8]:
    """A copy of `image` with the face box, each eyelid polygon and iris drawn on it."""
    out = image.copy()
    thick = max(1, round(max(image.shape[:2]) / 1000))
    x0, y0, x1, y1 = (int(round(v)) for v in result.face_box_px)
    cv2.rectangle(out, (x0, y0), (x1, y1), FACE_RGB, thick, cv2.LINE_AA)
    for eye in result.eyes:
        cv2.polylines(
            out, [np.round(eye.opening_px).astype(np.int32)], True, LID_RGB, thick, cv2.LINE_AA
        )
        centre = tuple(int(round(v)) for v in eye.iris_centre_px)
        cv2.circle(out, centre, int(round(eye.iris_radius_px)), IRIS_RGB, thick, cv2.LINE_AA)
        cv2.circle(out, centre, thick + 1, IRIS_RGB, -1, cv2.LINE_AA)
    return out


def run_analyse(args: argparse.Namespace) -> int:
    from build_frames import gaze
    from build_frames.cmd_eyes import analyse_portrait
    from build_frames.eyes import eye_pose

    portrait = read_portrait(args.portrait)
    result = analyse_portrait(portrait, args.face, show_progress=False)
    write_png(Path(args.out), annotate(portrait.rgb, result))
    poses = [eye_pose(e) for e in result.eyes]
    irises = ", ".join(
        f"{e.subject_side} eye iris at ({e.iris_centre_px[0]:.1f}, {e.iris_centre_px[1]:.1f}) "
        f"r {e.iris_radius_px:.1f} px"
        for e in result.eyes
    )
    print(
        f"face {result.number} of {result.n_faces}; {irises}; looks at yaw "
        f"{gaze.original_yaw_deg(poses):+.1f} deg; wrote {args.out}"
    )
    return 0
