"""Where the painting and its patch land on the screen: pure geometry and resampling.

The painting is scaled ONCE to fit the screen (aspect ratio kept, letterboxed with a
border colour), then rotated onto the panel's pixel grid.

Rotation convention
-------------------
`rotation` (0, 90, 180 or 270) is how many degrees the PANEL has been turned
CLOCKWISE, as seen by a person facing it, from its normal position. To look upright
to that person the painting is drawn turned COUNTER-CLOCKWISE by the same angle in
panel pixels, exactly as ``np.rot90(image, k=rotation // 90)`` turns an array.

Example: a landscape 1920x1080 panel hung in portrait with its top edge on the
person's right is rotation 90; the painting's top then lies along the panel's left
edge (panel column 0).

Seamless patches
----------------
Each frame's patch is resampled from the WHOLE frame (base with that frame's patch
pasted), with the same resize call that scaled the base, and then cut out along a
rectangle of whole screen pixels that covers the patch plus the resampling kernel's
reach (`RESAMPLE_SUPPORT_BASE_PX`). Every screen pixel therefore equals the pixel of
the scaled whole frame, so there is no seam between patch and base whatever the scale.
This costs one full-size resize per frame, once, at load.

Coordinate spaces are in the names: `base_px` (the pack's painting), `scaled_px`
(the painting after scaling, before rotation), `screen_px` (the panel's pixel grid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

VALID_ROTATIONS = (0, 90, 180, 270)
# Reach of the resampling kernels, in base px either side of a pixel: bicubic uses
# 2 neighbours per side when enlarging; INTER_AREA reaches under 1 px when shrinking.
RESAMPLE_SUPPORT_BASE_PX = 2
# Shrinking averages pixel areas (no aliasing); enlarging interpolates bicubically.
SHRINK_INTERPOLATION = cv2.INTER_AREA
ENLARGE_INTERPOLATION = cv2.INTER_CUBIC


@dataclass(frozen=True)
class PxRect:
    """An axis-aligned rectangle of whole pixels: top-left (x, y) and size, in px."""

    x: int
    y: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height

    @property
    def slices(self) -> tuple[slice, slice]:
        """(rows, cols) slices selecting the rectangle out of an (H, W, ...) array."""
        return slice(self.y, self.bottom), slice(self.x, self.right)

    def as_tuple(self) -> tuple[int, int, int, int]:
        return self.x, self.y, self.width, self.height

    def moved(self, dx: int, dy: int) -> PxRect:
        return PxRect(self.x + dx, self.y + dy, self.width, self.height)


@dataclass(frozen=True)
class PaintingLayout:
    """How a painting sits on a screen.

    base_wh: (width, height) of the painting in base px.
    scaled_wh: (width, height) of the painting after scaling, before rotation.
    screen_wh: (width, height) of the screen in px.
    painting_screen_px: where the rotated, scaled painting lies on the screen.
    rotation: degrees the panel is turned clockwise (see the module docstring).
    """

    base_wh: tuple[int, int]
    scaled_wh: tuple[int, int]
    screen_wh: tuple[int, int]
    painting_screen_px: PxRect
    rotation: int


def check_rotation(rotation: int) -> int:
    if rotation not in VALID_ROTATIONS:
        raise ValueError(f"rotation {rotation!r} is not one of {list(VALID_ROTATIONS)}")
    return rotation


def rotated_wh(wh: tuple[int, int], rotation: int) -> tuple[int, int]:
    """(width, height) of a wh-sized image after turning it by `rotation` degrees."""
    return (wh[1], wh[0]) if check_rotation(rotation) in (90, 270) else wh


def fit_painting(
    base_wh: tuple[int, int], screen_wh: tuple[int, int], rotation: int = 0
) -> PaintingLayout:
    """Scale a base_wh painting once to fit screen_wh after rotation, centred (letterboxed)."""
    bw, bh = base_wh
    sw, sh = screen_wh
    if min(bw, bh, sw, sh) <= 0:
        raise ValueError(f"sizes must be positive, got painting {base_wh} and screen {screen_wh}")
    rw, rh = rotated_wh(base_wh, rotation)
    scale = min(sw / rw, sh / rh)
    # Round each side, then clamp against float error so the painting never exceeds the screen.
    rounded_wh = (max(1, round(bw * scale)), max(1, round(bh * scale)))
    on_screen_w, on_screen_h = rotated_wh(rounded_wh, rotation)
    on_screen_w, on_screen_h = min(on_screen_w, sw), min(on_screen_h, sh)
    scaled_wh = rotated_wh((on_screen_w, on_screen_h), rotation)
    painting = PxRect((sw - on_screen_w) // 2, (sh - on_screen_h) // 2, on_screen_w, on_screen_h)
    return PaintingLayout(base_wh, scaled_wh, screen_wh, painting, rotation)


def scaled_patch_rect(layout: PaintingLayout, patch_base_px: PxRect) -> PxRect:
    """Whole scaled px whose resampled value can depend on the patch (before rotation).

    The patch grows by the kernel's reach and then outward to whole scaled pixels,
    clipped to the scaled painting.
    """
    sx = layout.scaled_wh[0] / layout.base_wh[0]
    sy = layout.scaled_wh[1] / layout.base_wh[1]
    margin = RESAMPLE_SUPPORT_BASE_PX
    x0 = max(0, math.floor((patch_base_px.x - margin) * sx))
    y0 = max(0, math.floor((patch_base_px.y - margin) * sy))
    x1 = min(layout.scaled_wh[0], math.ceil((patch_base_px.right + margin) * sx))
    y1 = min(layout.scaled_wh[1], math.ceil((patch_base_px.bottom + margin) * sy))
    return PxRect(x0, y0, x1 - x0, y1 - y0)


def rotate_rect(rect: PxRect, image_wh: tuple[int, int], rotation: int) -> PxRect:
    """Where `rect` of an image_wh image lands after rotate_image(image, rotation)."""
    w, h = image_wh
    if check_rotation(rotation) == 0:
        return rect
    if rotation == 90:  # (x, y) -> (y, w - x)
        return PxRect(rect.y, w - rect.right, rect.height, rect.width)
    if rotation == 180:  # (x, y) -> (w - x, h - y)
        return PxRect(w - rect.right, h - rect.bottom, rect.width, rect.height)
    # 270: (x, y) -> (h - y, x)
    return PxRect(h - rect.bottom, rect.x, rect.height, rect.width)


def patch_screen_rect(layout: PaintingLayout, patch_base_px: PxRect) -> PxRect:
    """The screen px the patch's pixels occupy (scaled, grown by the kernel reach, rotated)."""
    rect = rotate_rect(scaled_patch_rect(layout, patch_base_px), layout.scaled_wh, layout.rotation)
    return rect.moved(layout.painting_screen_px.x, layout.painting_screen_px.y)


def rotate_image(image: np.ndarray, rotation: int) -> np.ndarray:
    """(H, W, C) image turned counter-clockwise by `rotation` degrees, C-contiguous."""
    return np.ascontiguousarray(np.rot90(image, k=check_rotation(rotation) // 90))


def scale_image(image: np.ndarray, scaled_wh: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) uint8 image resized to scaled_wh = (width, height)."""
    if (image.shape[1], image.shape[0]) == scaled_wh:
        return image.copy()
    shrinking = scaled_wh[0] * scaled_wh[1] < image.shape[0] * image.shape[1]
    interpolation = SHRINK_INTERPOLATION if shrinking else ENLARGE_INTERPOLATION
    return cv2.resize(image, scaled_wh, interpolation=interpolation)


def screen_base(layout: PaintingLayout, base: np.ndarray) -> np.ndarray:
    """The base painting scaled and rotated as it appears inside painting_screen_px."""
    return rotate_image(scale_image(base, layout.scaled_wh), layout.rotation)


def screen_patch(
    layout: PaintingLayout, full_frame: np.ndarray, patch_base_px: PxRect
) -> np.ndarray:
    """One frame's pixels for patch_screen_rect, cut from the whole scaled frame.

    full_frame: the (H, W, 3) painting with this frame's patch pasted (FramePack.full_frame).
    """
    scaled = scale_image(full_frame, layout.scaled_wh)
    return rotate_image(scaled[scaled_patch_rect(layout, patch_base_px).slices], layout.rotation)
