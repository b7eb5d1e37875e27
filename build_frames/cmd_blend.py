"""`build-frames blend PORTRAIT HEADS --crop X Y W H --out PACK`: heads made elsewhere."""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from build_frames import cli, heads, packing, progress, synthesis
from build_frames.errors import BuildError, HeadFramesError
from build_frames.image_io import read_portrait, read_rgb_file
from device.pack import PatchRect, check_destination

# Files taken from the HEADS folder (by suffix, any case); anything else is ignored.
HEAD_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def natural_key(name: str) -> list[int | str]:
    """Sort key that puts frame_2 before frame_10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def head_files(folder: Path) -> list[Path]:
    """The head images in `folder`, in natural name order; HeadFramesError if none."""
    if not folder.is_dir():
        raise HeadFramesError(f"{folder}: heads folder not found")
    files = sorted(
        (p for p in folder.iterdir() if p.suffix.lower() in HEAD_SUFFIXES),
        key=lambda p: natural_key(p.name),
    )
    if len(files) < 2:
        raise HeadFramesError(
            f"{folder}: found {len(files)} head image(s); need at least 2 "
            f"({', '.join(HEAD_SUFFIXES)} files, in gaze order by name)"
        )
    return files


def read_head(path: Path) -> npt.NDArray[np.uint8]:
    try:
        return read_rgb_file(path)
    except BuildError as exc:
        raise HeadFramesError(f"head frame {exc}") from None


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    show = not args.no_progress
    check_destination(args.out, args.force)  # refuse at once, not after the work
    files = head_files(Path(args.heads))
    if args.pitch_rows >= 1 and len(files) % args.pitch_rows:
        raise HeadFramesError(
            f"{args.heads}: {len(files)} heads do not fill --pitch-rows {args.pitch_rows} "
            "rows of equal length"
        )
    table = synthesis.gaze_table(
        len(files) // max(args.pitch_rows, 1), args.yaw_range, args.pitch_range, args.pitch_rows
    )
    portrait = read_portrait(args.portrait)
    for message in portrait.notes:
        cli.note(f"{args.portrait}: {message}")
    crop = PatchRect(*args.crop)
    heads.check_crop(crop, portrait.size)
    spec = cli.alpha_from_args(
        args, (crop.x, crop.y, crop.x + crop.width, crop.y + crop.height), portrait.size
    )
    head_images = [read_head(p) for p in progress.each(files, len(files), "read heads", show)]
    with progress.bar(len(head_images), "blend", show) as bar:
        frames = heads.blend_heads(
            portrait.rgb,
            head_images,
            crop,
            spec,
            not args.no_colour_match,
            on_head=lambda: bar.update(1),
        )
    parameters = {
        "heads": [p.name for p in files],
        "crop_px": list(args.crop),
        "yaw_range_deg": list(args.yaw_range),
        "pitch_range_deg": list(args.pitch_range),
        "pitch_rows": args.pitch_rows,
        "colour_match": not args.no_colour_match,
        "alpha": cli.alpha_parameters(spec),
    }
    prov = packing.provenance("blend", portrait, parameters)
    packing.write_and_report(
        args.out, portrait.rgb, frames, table.yaw_deg, table.pitch_deg, crop, prov, args.force,
        show, start,
    )
    return 0
