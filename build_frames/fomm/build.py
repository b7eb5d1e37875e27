"""`build-frames fomm`: the portrait's head animated by a driving video, as a frame pack.

1. The portrait's face (BlazeFace, as every subcommand finds it) gives a square head crop
   with the driving crop's margin (driving.CROP_MARGIN: the face box spans half of it, both
   faces at the same scale), resized to the model's 256 px.
2. The checkpoint is loaded (checkpoint.load_fomm: the official vox-256 networks; a wrong
   file is the likeliest mistake, so it is reported before the video is read), and the
   driving video gets its one fixed crop (driving.load_driving_clip).
3. FOMM animates the head by every driving frame, in batches under torch.inference_mode()
   (animate.animate).
4. Every generated head's horizontal gaze is measured (frame_choice.measure_gaze_deg). If
   fewer than N heads have measurable eyes (a model that smears the eyes; random weights),
   the driving frames are measured instead, all of them, so one face's gaze scale orders the
   whole clip. Frames whose eyes cannot be measured (blinks) are not candidates.
5. N frames are picked, spread evenly in gaze from the leftmost to the rightmost
   (frame_choice.pick_spread), and given the yaw table evenly spaced over --yaw-range: the
   measured gaze range is mapped linearly onto --yaw-range (YAW_TABLE_RULE), so the table
   ascends strictly whatever order the driver looked in.
6. The picked heads are colour-matched and blended back into the painting (heads.py) and
   written as a pack (packing.py), with the checkpoint's and the driving video's sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from build_frames import analysis, blend, cli, cmd_eyes, heads, packing, progress, synthesis
from build_frames.cmd_preview import write_png
from build_frames.errors import DrivingVideoError, OptionError
from build_frames.fomm import checkpoint, driving, frame_choice
from build_frames.fomm.animate import animate, optimise_for_inference
from build_frames.image_io import Portrait, read_portrait
from build_frames.landmarks import LandmarkModels
from device.detector import BlazeFaceDetector
from device.faces import Face
from device.pack import PatchRect, check_destination

U8 = npt.NDArray[np.uint8]

# A driving video is a face filmed close (a webcam or phone selfie): BlazeFace short range
# (up to ~2 m), for the clip's crop and for the gaze of its frames and the generated heads.
DRIVING_DETECTOR = "short_range"
# --frames-dir: one PNG per generated head, numbered by clip frame, and what was measured.
HEAD_FILE = "head_{:04d}.png"
HEAD_GLOB = "head_*.png"
HEADS_JSON = "heads.json"
MEASURED_ON_HEADS = "generated heads"
MEASURED_ON_DRIVING = "driving video"
YAW_TABLE_RULE = (
    "yaw evenly spaced over --yaw-range; frame i is the head whose measured gaze is nearest "
    "the i-th of N evenly spaced gazes from the leftmost to the rightmost measured (the "
    "measured gaze range mapped linearly onto --yaw-range)"
)
# Files are hashed in pieces of this size (the checkpoint is ~700 MB).
HASH_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class PortraitHead:
    """The portrait's face (number: 1-based, of n_faces), its square head crop (portrait
    px) and that crop as the model's (256, 256, 3) uint8 source image."""

    face: Face
    number: int
    n_faces: int
    crop: driving.SquareCrop
    source_rgb: U8

    @property
    def crop_rect(self) -> PatchRect:
        return PatchRect(self.crop.x, self.crop.y, self.crop.side, self.crop.side)


@dataclass(frozen=True)
class Animation:
    """The animated clip: heads_rgb (M, 256, 256, 3) uint8, one per clip frame; the frames
    chosen from it; where FOMM ran and how long a frame took (s)."""

    clip: driving.DrivingClip
    heads_rgb: U8
    choice: frame_choice.FrameChoice
    device: str
    seconds_per_frame: float


def portrait_head(portrait: Portrait, face_number: int | None) -> PortraitHead:
    """Find and choose the face (FaceError if none) and cut its head crop; a note goes to
    stderr when there are several faces."""
    faces = analysis.detect_faces(portrait.rgb, cmd_eyes.default_detector)
    face, number, message = analysis.choose_face(faces, face_number)
    if message:
        cli.note(message)
    crop = driving.fixed_crop([face.box_px], portrait.size, driving.CROP_MARGIN)
    source = driving.crop_frame(portrait.rgb, crop, driving.CROP_SIZE_PX)
    return PortraitHead(face, number, len(faces), crop, source)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The file's sha256, read in HASH_CHUNK_BYTES pieces."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def check_options(args: argparse.Namespace) -> None:
    """OptionError / PackError for what can be refused before minutes of animation."""
    if args.frames > driving.MAX_FRAMES:
        raise OptionError(
            f"--frames {args.frames}: at most {driving.MAX_FRAMES} (the driving frames used)"
        )
    if args.batch_size is not None and args.batch_size < 1:
        raise OptionError(f"--batch-size {args.batch_size}: must be at least 1")
    if not Path(args.driving).is_file():
        raise DrivingVideoError(f"{args.driving}: no such file (the driving video)")
    check_destination(args.out, args.force)
    if args.frames_dir is not None:
        folder = Path(args.frames_dir)
        if folder.exists() and not folder.is_dir():
            raise OptionError(f"--frames-dir {args.frames_dir}: exists and is not a folder")
        if folder.is_dir() and any(folder.iterdir()) and not args.force:
            raise OptionError(
                f"--frames-dir {args.frames_dir}: not empty (use --force to replace the heads "
                "in it)"
            )


def write_heads(folder: Path, head_images: U8, show: bool) -> None:
    """Every generated head ((N, 256, 256, 3) uint8) as folder/head_NNNN.png (NNNN: the
    clip frame), replacing the heads of an earlier run (and nothing else)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in [*folder.glob(HEAD_GLOB), folder / HEADS_JSON]:
        old.unlink(missing_ok=True)
    for i, head in enumerate(progress.each(head_images, len(head_images), "save heads", show)):
        write_png(folder / HEAD_FILE.format(i), head)


def heads_record(
    clip: driving.DrivingClip, choice: frame_choice.FrameChoice, yaw_deg: Sequence[float]
) -> dict[str, Any]:
    """heads.json: each head's file, video frame, measured gaze and, if picked, its yaw."""
    yaw_of = dict(zip(choice.indices, yaw_deg, strict=True))
    return {
        "gaze_measured_on": choice.measured_on,
        "yaw_table": YAW_TABLE_RULE,
        "heads": [
            {
                "file": HEAD_FILE.format(i),
                "video_frame": int(clip.frame_index[i]),
                "gaze_deg": None if g is None else round(g, 2),
                "yaw_deg": None if i not in yaw_of else round(yaw_of[i], 3),
            }
            for i, g in enumerate(choice.gaze_deg)
        ],
    }


def measure_all(
    images: U8,
    detect: frame_choice.Detect,
    models: LandmarkModels,
    desc: str,
    show: bool,
) -> list[float | None]:
    return [
        frame_choice.measure_gaze_deg(image, detect, models)
        for image in progress.each(images, len(images), desc, show)
    ]


def choose_frames(
    head_images: U8,
    driving_rgb: U8,
    detect: frame_choice.Detect,
    models: LandmarkModels,
    count: int,
    show: bool,
) -> frame_choice.FrameChoice:
    """`count` frames by the generated heads' gaze, else by the driving frames' gaze (both
    (N, H, W, 3) uint8); DrivingVideoError when neither has `count` measurable frames."""
    measured = measure_all(head_images, detect, models, "gaze of heads", show)
    n_heads = sum(g is not None for g in measured)
    if n_heads >= count:
        return frame_choice.choose(measured, count, MEASURED_ON_HEADS)
    cli.note(
        f"the eyes of {n_heads} of {len(head_images)} generated heads could be measured, "
        f"fewer than the {count} frames asked for; ordering the frames by the driving video's "
        "gaze instead"
    )
    measured = measure_all(driving_rgb, detect, models, "gaze of driver", show)
    n_driving = sum(g is not None for g in measured)
    if n_driving >= count:
        return frame_choice.choose(measured, count, MEASURED_ON_DRIVING)
    raise DrivingVideoError(
        f"cannot order the frames by gaze: the eyes could be measured in {n_heads} of "
        f"{len(head_images)} generated heads and {n_driving} driving frames, {count} needed; "
        "film the driver's face larger, front-on and well lit (or ask for fewer --frames)"
    )


def provenance(
    args: argparse.Namespace,
    portrait: Portrait,
    head: PortraitHead,
    anim: Animation,
    spec: blend.AlphaSpec,
) -> dict[str, Any]:
    """method "fomm": the inputs' sha256 (portrait, checkpoint, driving video), every
    parameter, the crops, how the frames were chosen and the tool version."""
    clip, choice = anim.clip, anim.choice
    parameters = {
        "frames": args.frames,
        "yaw_range_deg": list(args.yaw_range),
        "face": args.face,
        "device": args.device,
        "batch_size": args.batch_size,
        "crop_margin": driving.CROP_MARGIN,
        "adapt_movement_scale": True,
        "colour_match": not args.no_colour_match,
        "alpha": cli.alpha_parameters(spec),
    }
    extra = {
        "checkpoint": {
            "file": os.path.basename(args.checkpoint),
            "sha256": sha256_file(args.checkpoint),
        },
        "driving": {
            "file": os.path.basename(args.driving),
            "sha256": sha256_file(args.driving),
            "fps": clip.fps,
            "frames_used": len(clip.frames_rgb),
            "crop_px": [clip.crop.x, clip.crop.y, clip.crop.side],
            "detector": DRIVING_DETECTOR,
        },
        "analysis": {
            "face_number": head.number,
            "faces_found": head.n_faces,
            "face_box_px": [round(v, 1) for v in head.face.box_px],
            "head_crop_px": [head.crop.x, head.crop.y, head.crop.side],
        },
        "gaze": {
            "measured_on": choice.measured_on,
            "measured_frames": choice.n_measured,
            "yaw_table": YAW_TABLE_RULE,
            "picked_video_frames": [int(clip.frame_index[i]) for i in choice.indices],
            "picked_gaze_deg": [round(g, 2) for g in choice.picked_gaze_deg],
        },
        "fomm": {"device": anim.device, "seconds_per_frame": round(anim.seconds_per_frame, 3)},
        "models_sha256": cmd_eyes.model_checksums(),
    }
    return packing.provenance("fomm", portrait, parameters, extra)


def animate_and_choose(args: argparse.Namespace, head: PortraitHead, show: bool) -> Animation:
    """Load the checkpoint, cut the driving clip, animate the head by it (keeping every
    head in --frames-dir) and choose the pack's frames by gaze."""
    kp_detector, generator = checkpoint.load_fomm(args.checkpoint, args.device)
    optimise_for_inference(kp_detector, generator)
    with BlazeFaceDetector(DRIVING_DETECTOR) as detector, LandmarkModels() as models:
        clip = driving.load_driving_clip(
            args.driving, detector.detect, min_frames=max(driving.MIN_FRAMES, args.frames)
        )
        start = time.perf_counter()
        head_images = animate(
            kp_detector, generator, head.source_rgb, clip.frames_rgb, args.batch_size, True, show
        )
        seconds = (time.perf_counter() - start) / len(head_images)
        if args.frames_dir is not None:
            write_heads(Path(args.frames_dir), head_images, show)
        choice = choose_frames(
            head_images, clip.frames_rgb, detector.detect, models, args.frames, show
        )
    return Animation(clip, head_images, choice, str(generator.final.weight.device), seconds)


def run(args: argparse.Namespace) -> int:
    """Run `build-frames fomm` (see the module docstring); returns the exit status."""
    start = time.perf_counter()
    show = not args.no_progress
    table = synthesis.gaze_table(args.frames, args.yaw_range)
    check_options(args)
    portrait = read_portrait(args.portrait)
    for message in portrait.notes:
        cli.note(f"{args.portrait}: {message}")
    cli.check_alpha_centre(args, portrait.size)  # before the face analysis
    head = portrait_head(portrait, args.face)
    crop = head.crop_rect
    spec = cli.alpha_from_args(
        args, (crop.x, crop.y, crop.x + crop.width, crop.y + crop.height), portrait.size
    )
    anim = animate_and_choose(args, head, show)
    choice = anim.choice
    if args.frames_dir is not None:
        record = heads_record(anim.clip, choice, table.yaw_deg)
        (Path(args.frames_dir) / HEADS_JSON).write_text(
            json.dumps(record, indent=2) + "\n", encoding="utf-8"
        )
    if choice.span_deg < frame_choice.MIN_GAZE_SPAN_DEG:
        cli.note(
            f"the picked frames' gaze spans only {choice.span_deg:.1f} deg (measured on the "
            f"{choice.measured_on}); the driver hardly moved their eyes, so the frames will "
            "look alike"
        )
    picked = [anim.heads_rgb[i] for i in choice.indices]
    with progress.bar(len(picked), "blend", show) as bar:
        frames = heads.blend_heads(
            portrait.rgb, picked, crop, spec, not args.no_colour_match, lambda: bar.update(1)
        )
    prov = provenance(args, portrait, head, anim, spec)
    packing.write_and_report(
        args.out, portrait.rgb, frames, table.yaw_deg, table.pitch_deg, crop, prov, args.force,
        show, start,
    )
    return 0
