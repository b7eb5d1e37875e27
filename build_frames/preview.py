"""Looking at a pack: a contact sheet of every frame's face, and a sweep animation.

People judge gaze frames by looking at them, not by numbers: the contact sheet shows
the region around the patch of every frame side by side, labelled with its yaw (and
pitch), and the sweep plays the whole painting from the first yaw to the last and back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from build_frames import geometry
from build_frames.errors import OptionError
from device.pack import FramePack, PatchRect

U8 = npt.NDArray[np.uint8]

# Each contact-sheet cell is this wide (px); the sheet has at most this many columns.
THUMB_WIDTH_PX = 240
MAX_COLUMNS = 8
# The face shown around a thin patch (eyes only) is at least this tall for its width.
MIN_CONTEXT_ASPECT = 0.6
# ... and reaches this fraction of the patch's larger side past it on every side.
CONTEXT_MARGIN = 0.25
LABEL_HEIGHT_PX = 22
SHEET_BACKGROUND = (32, 32, 32)
# The sweep is shown at most this many px on its longer side (GIFs of a full-size
# painting would be hundreds of MB), at this frame rate.
ANIMATION_MAX_SIDE_PX = 720
ANIMATION_FPS = 12.0
ANIMATION_FORMATS = (".gif", ".mp4")


def context_rect(patch: PatchRect, image_size: tuple[int, int]) -> PatchRect:
    """The patch grown by a margin and to a face-like aspect, clipped to the image (w, h)."""
    margin = CONTEXT_MARGIN * max(patch.width, patch.height)
    height = max(patch.height + 2 * margin, MIN_CONTEXT_ASPECT * (patch.width + 2 * margin))
    cx, cy = patch.x + patch.width / 2, patch.y + patch.height / 2
    half_w = patch.width / 2 + margin
    return geometry.rect_from_bounds(
        cx - half_w, cy - height / 2, cx + half_w, cy + height / 2, image_size
    )


def frame_label(pack: FramePack, index: int) -> str:
    yaw = pack.yaw_deg[index % len(pack.yaw_deg)]
    text = f"{index:02d}  yaw {yaw:+.1f}"
    if len(pack.pitch_deg) > 1:
        text += f" pitch {pack.pitch_deg[index // len(pack.yaw_deg)]:+.1f}"
    return text


def _label(cell: U8, text: str) -> U8:
    strip = np.full((LABEL_HEIGHT_PX, cell.shape[1], 3), SHEET_BACKGROUND, np.uint8)
    cv2.putText(
        strip,
        text,
        (6, LABEL_HEIGHT_PX - 7),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.5,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    return np.vstack([cell, strip])


def contact_sheet(pack: FramePack) -> U8:
    """(H, W, 3) uint8: every frame's face region, labelled, in gaze-table order."""
    region = context_rect(pack.patch, pack.base_size)
    scale = THUMB_WIDTH_PX / region.width
    size = (THUMB_WIDTH_PX, max(int(round(region.height * scale)), 1))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    cells = []
    for i in range(pack.n_frames):
        image = pack.base[region.slices].copy()
        p, r = pack.patch, region
        image[p.y - r.y : p.y - r.y + p.height, p.x - r.x : p.x - r.x + p.width] = pack.patches[i]
        cells.append(
            _label(
                np.asarray(cv2.resize(image, size, interpolation=interpolation), np.uint8),
                frame_label(pack, i),
            )
        )
    columns = min(len(cells), MAX_COLUMNS)
    rows = math.ceil(len(cells) / columns)
    blank = np.full_like(cells[0], SHEET_BACKGROUND)
    cells += [blank] * (rows * columns - len(cells))
    return np.vstack([np.hstack(cells[r * columns : (r + 1) * columns]) for r in range(rows)])


def sweep_indices(pack: FramePack) -> list[int]:
    """Frames of the level pitch row, first yaw to last and back (a loop without a jump)."""
    row = pack.level_pitch_index
    there = [pack.frame_index(i, row) for i in range(len(pack.yaw_deg))]
    return there + there[-2:0:-1]


def sweep_frames(pack: FramePack, max_side_px: int = ANIMATION_MAX_SIDE_PX) -> list[U8]:
    """The sweep's frames: the whole painting, scaled to at most max_side_px."""
    width, height = pack.base_size
    scale = min(1.0, max_side_px / max(width, height))
    size = (max(int(round(width * scale)), 1), max(int(round(height * scale)), 1))
    cache: dict[int, U8] = {}
    out = []
    for i in sweep_indices(pack):
        if i not in cache:
            small = cv2.resize(pack.full_frame(i), size, interpolation=cv2.INTER_AREA)
            cache[i] = np.asarray(small, np.uint8)
        out.append(cache[i])
    return out


def animation_path_ok(path: Path) -> None:
    """OptionError unless `path` ends in a supported animation suffix."""
    if path.suffix.lower() not in ANIMATION_FORMATS:
        raise OptionError(
            f"{path}: unknown animation format {path.suffix!r}; "
            f"use one of {list(ANIMATION_FORMATS)}"
        )


def write_animation(
    path: Path,
    frames: Sequence[U8],
    fps: float = ANIMATION_FPS,
    on_frame: Callable[[], object] | None = None,
) -> None:
    """Write RGB frames as a looping GIF (Pillow) or an MP4 (OpenCV, mp4v)."""
    animation_path_ok(path)
    if path.suffix.lower() == ".gif":
        from build_frames.image_io import pillow

        pillow()
        from PIL import Image

        images = []
        for frame in frames:
            images.append(
                Image.fromarray(frame).quantize(colors=256, method=Image.Quantize.MEDIANCUT)
            )
            if on_frame:
                on_frame()
        images[0].save(
            path,
            save_all=True,
            append_images=images[1:],
            loop=0,
            duration=int(round(1000 / fps)),
            optimize=False,
        )
        return
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise OptionError(f"{path}: OpenCV cannot write MP4 here; use a .gif name instead")
    try:
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            if on_frame:
                on_frame()
    finally:
        writer.release()
