"""Synthetic camera frames for benches and tests: real face photos placed in a room.

A photo shipped inside a package (its face box measured by hand) is scaled so the face
is as wide as a real face at a given distance (device/optics.py) and pasted, head and
shoulders, onto a background at a given place. Nothing here is used by the frame itself.

Ground truth was read off zoomed, gridded crops of each photo: the face box runs cheek
to cheek (ear to nose tip in profile) and brow or hairline to chin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from device import demo
from device.errors import MonaFrameError

# The pasted part of a photo around the face box, in box widths (sideways) and box
# heights (up, down): the whole head, the neck and the top of the shoulders, so the
# detector sees a person rather than a floating face.
PASTE_SIDE_BOXES = 1.0
PASTE_UP_BOXES = 0.8
PASTE_DOWN_BOXES = 1.6
# The pasted rectangle fades into the background over this fraction of its smaller
# side, so its edges are not a sharp frame around the person.
FEATHER_FRACTION = 0.2


def _skimage_camera() -> np.ndarray:
    try:
        from skimage import data
    except ImportError as exc:
        raise MonaFrameError(
            f"photo 'cameraman' needs {exc.name}: pip install scikit-image"
        ) from None
    return np.ascontiguousarray(np.dstack([data.camera()] * 3))


@dataclass(frozen=True)
class FacePhoto:
    """A package-shipped photo with one face: its loader and hand-measured face box (px).

    looks_at_camera: False for a profile, which a frame's viewer never shows it: it is
    measured for information, not held to the range goal.
    """

    name: str
    load: Callable[[], np.ndarray]
    box_px: tuple[float, float, float, float]
    looks_at_camera: bool = True


PHOTOS: dict[str, FacePhoto] = {
    p.name: p
    for p in (
        # scikit-image's astronaut (Eileen Collins), frontal.
        FacePhoto("astronaut", lambda: demo.face_photo("astronaut"), (180, 80, 270, 180)),
        # matplotlib's Grace Hopper, frontal.
        FacePhoto("grace_hopper", lambda: demo.face_photo("grace_hopper"), (165, 145, 365, 340)),
        # scikit-image's cameraman (grey): a near profile, one eye hidden by his camera.
        FacePhoto("cameraman", _skimage_camera, (185, 128, 255, 198), looks_at_camera=False),
    )
}


def cover(photo_rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The photo scaled to cover (width, height) and centre-cropped to it; (H, W, 3) uint8."""
    width, height = size
    scale = max(width / photo_rgb.shape[1], height / photo_rgb.shape[0])
    w, h = (
        max(round(photo_rgb.shape[1] * scale), width),
        max(round(photo_rgb.shape[0] * scale), height),
    )
    resized = cv2.resize(photo_rgb, (w, h), interpolation=cv2.INTER_AREA)
    x0, y0 = (w - width) // 2, (h - height) // 2
    return np.ascontiguousarray(resized[y0 : y0 + height, x0 : x0 + width])


def feather_mask(height: int, width: int, fraction: float = FEATHER_FRACTION) -> np.ndarray:
    """(height, width) float32 alpha: 1 inside, ramping to 0 at the border."""
    ramp = max(fraction * min(height, width), 1.0)
    ys = np.minimum(np.arange(height) + 0.5, height - np.arange(height) - 0.5) / ramp
    xs = np.minimum(np.arange(width) + 0.5, width - np.arange(width) - 0.5) / ramp
    return np.clip(np.minimum(ys[:, None], xs[None, :]), 0.0, 1.0).astype(np.float32)


def place_face(
    background_rgb: np.ndarray,
    photo_rgb: np.ndarray,
    box_px: tuple[float, float, float, float],
    face_width_px: float,
    centre_px: tuple[float, float],
    rng: np.random.Generator | None = None,
    noise_sigma: float = demo.SENSOR_NOISE_SIGMA,
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Paste the person around `box_px` of a photo so the face is face_width_px wide.

    The face box's centre lands on centre_px (frame px, to the nearest pixel); whatever
    falls outside the frame is cut. rng adds sensor noise (sigma in grey levels).
    Returns the new frame, (H, W, 3) uint8, and the face box where it landed, frame px.
    """
    x0, y0, x1, y1 = box_px
    bw, bh = x1 - x0, y1 - y0
    ph, pw = photo_rgb.shape[:2]
    left = max(int(x0 - PASTE_SIDE_BOXES * bw), 0)
    right = min(int(np.ceil(x1 + PASTE_SIDE_BOXES * bw)), pw)
    top = max(int(y0 - PASTE_UP_BOXES * bh), 0)
    bottom = min(int(np.ceil(y1 + PASTE_DOWN_BOXES * bh)), ph)
    scale = face_width_px / bw
    out_w, out_h = max(round((right - left) * scale), 1), max(round((bottom - top) * scale), 1)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    person = cv2.resize(
        photo_rgb[top:bottom, left:right], (out_w, out_h), interpolation=interpolation
    )
    alpha = feather_mask(out_h, out_w)[..., None]
    # The scale each axis really got, once the pasted size was rounded to whole px.
    sx, sy = out_w / (right - left), out_h / (bottom - top)
    cx, cy = centre_px
    px0 = round(cx - ((x0 + x1) / 2 - left) * sx)
    py0 = round(cy - ((y0 + y1) / 2 - top) * sy)
    frame = background_rgb.astype(np.float32)
    fh, fw = frame.shape[:2]
    fx0, fy0 = max(px0, 0), max(py0, 0)
    fx1, fy1 = min(px0 + out_w, fw), min(py0 + out_h, fh)
    if fx1 > fx0 and fy1 > fy0:
        src = person[fy0 - py0 : fy1 - py0, fx0 - px0 : fx1 - px0].astype(np.float32)
        a = alpha[fy0 - py0 : fy1 - py0, fx0 - px0 : fx1 - px0]
        frame[fy0:fy1, fx0:fx1] = a * src + (1.0 - a) * frame[fy0:fy1, fx0:fx1]
    if rng is not None and noise_sigma > 0:
        frame += rng.normal(0.0, noise_sigma, frame.shape).astype(np.float32)
    placed = (
        px0 + (x0 - left) * sx,
        py0 + (y0 - top) * sy,
        px0 + (x1 - left) * sx,
        py0 + (y1 - top) * sy,
    )
    return np.clip(frame, 0, 255).astype(np.uint8), placed


def matches(
    found_box_px: tuple[float, float, float, float],
    truth_box_px: tuple[float, float, float, float],
    max_offset: float = 0.5,
    max_size_ratio: float = 2.0,
) -> bool:
    """A detection is of the true face if its centre is within max_offset true widths of
    the true centre and its width within max_size_ratio times the true width either way."""
    fx0, fy0, fx1, fy1 = found_box_px
    tx0, ty0, tx1, ty1 = truth_box_px
    width = tx1 - tx0
    dx = (fx0 + fx1) / 2 - (tx0 + tx1) / 2
    dy = (fy0 + fy1) / 2 - (ty0 + ty1) / 2
    ratio = (fx1 - fx0) / width
    return (
        abs(dx) <= max_offset * width
        and abs(dy) <= max_offset * width
        and 1 / max_size_ratio <= ratio <= max_size_ratio
    )
