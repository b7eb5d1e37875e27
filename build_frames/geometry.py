"""Pure geometry: rotated square crops for the landmark models, rectangles, masks.

Coordinate spaces, named in every variable:
    *_px     portrait pixels, continuous: pixel (i, j) covers [i, i+1) × [j, j+1), so its
             centre is (i + 0.5, j + 0.5)
    *_crop   a model's square input, continuous in the same way, 0..size
OpenCV's warps and polygon fills address pixel centres as integers; the conversions
below add or remove that half pixel in one place.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from device.pack import PatchRect

FloatArray = npt.NDArray[np.float64]
# Polygon vertices are rasterised with this many fractional bits (cv2.fillPoly `shift`):
# 1/256 px, well below anything visible.
_POLY_SHIFT_BITS = 8
# Polygons are filled at this many samples per pixel side and averaged down: edges land
# within 1/8 px (OpenCV fills both end samples of a span, so each edge sits up to one
# sample out; its antialiased fill spreads edges half a pixel out instead).
POLYGON_SUPERSAMPLING = 8


def crop_affine(
    centre_px: tuple[float, float], size_px: float, angle_rad: float, out_size: int
) -> FloatArray:
    """(2, 3) affine taking *_crop points to *_px points for a rotated square crop.

    The crop is a square of side size_px centred on centre_px and rotated by angle_rad
    (image y points down, so a positive angle turns the crop's x axis toward +y),
    sampled onto out_size × out_size pixels.
    """
    scale = size_px / out_size
    c, s = math.cos(angle_rad) * scale, math.sin(angle_rad) * scale
    half = out_size / 2.0
    linear = np.array([[c, -s], [s, c]])
    offset = np.asarray(centre_px, np.float64) - linear @ np.array([half, half])
    return np.column_stack([linear, offset])


def apply_affine(affine: FloatArray, points: npt.ArrayLike) -> FloatArray:
    """(N, 2) points mapped by a (2, 3) affine."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    return pts @ affine[:, :2].T + affine[:, 2]


def warp_crop(
    image: npt.NDArray[np.uint8], affine_crop_to_px: FloatArray, out_size: int
) -> npt.NDArray[np.uint8]:
    """The (out_size, out_size, C) crop described by `affine_crop_to_px` (bilinear).

    Outside the image the border pixels repeat, as MediaPipe's ImageCroppingCalculator
    (BORDER_REPLICATE) does.
    """
    # Pixel-centre form: x_idx + 0.5 = A (u_idx + 0.5)  =>  x_idx = A u_idx + (A·½ - ½).
    centred = affine_crop_to_px.copy()
    centred[:, 2] += affine_crop_to_px[:, :2] @ np.array([0.5, 0.5]) - 0.5
    crop = cv2.warpAffine(
        image,
        centred,
        (out_size, out_size),
        flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.asarray(crop, np.uint8)


def angle_of(start_px: npt.ArrayLike, end_px: npt.ArrayLike) -> float:
    """Angle (radians) of the vector from start to end, image axes (y down)."""
    dx, dy = np.asarray(end_px, np.float64) - np.asarray(start_px, np.float64)
    return math.atan2(float(dy), float(dx))


def rect_from_bounds(
    x0: float, y0: float, x1: float, y1: float, image_size: tuple[int, int]
) -> PatchRect:
    """The integer rectangle covering [x0, x1) × [y0, y1), clipped to the image (w, h).

    Raises ValueError if nothing of it lies inside the image.
    """
    width, height = image_size
    left, top = max(int(math.floor(x0)), 0), max(int(math.floor(y0)), 0)
    right, bottom = min(int(math.ceil(x1)), width), min(int(math.ceil(y1)), height)
    if right <= left or bottom <= top:
        raise ValueError(f"rectangle ({x0}, {y0})-({x1}, {y1}) lies outside {width}x{height}")
    return PatchRect(left, top, right - left, bottom - top)


def rect_union(rects: Sequence[PatchRect]) -> PatchRect:
    """The smallest rectangle holding every rect in `rects` (at least one)."""
    left = min(r.x for r in rects)
    top = min(r.y for r in rects)
    right = max(r.x + r.width for r in rects)
    bottom = max(r.y + r.height for r in rects)
    return PatchRect(left, top, right - left, bottom - top)


def rect_grow(rect: PatchRect, margin_px: int, image_size: tuple[int, int]) -> PatchRect:
    """`rect` grown by margin_px on every side, clipped to the image (w, h)."""
    return rect_from_bounds(
        rect.x - margin_px,
        rect.y - margin_px,
        rect.x + rect.width + margin_px,
        rect.y + rect.height + margin_px,
        image_size,
    )


def mask_bounds(mask: npt.NDArray[np.bool_]) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) exclusive bounds of the True pixels of an (H, W) mask; None if none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def polygon_mask(
    polygon_px: npt.ArrayLike, origin_px: tuple[int, int], shape: tuple[int, int]
) -> npt.NDArray[np.float32]:
    """Coverage (H, W) float32 in [0, 1] of a polygon given in *_px points: each pixel's
    covered fraction, from a fill at POLYGON_SUPERSAMPLING× resolution averaged down.

    origin_px: the portrait pixel at the mask's (0, 0); shape: (H, W) of the mask.
    """
    n = POLYGON_SUPERSAMPLING
    pts = (np.asarray(polygon_px, np.float64).reshape(-1, 2) - np.asarray(origin_px)) * n - 0.5
    fixed = np.round(pts * (1 << _POLY_SHIFT_BITS)).astype(np.int32)
    canvas = np.zeros((shape[0] * n, shape[1] * n), np.uint8)
    cv2.fillPoly(canvas, [fixed], 255, cv2.LINE_8, shift=_POLY_SHIFT_BITS)
    small = cv2.resize(canvas, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    return np.asarray(small, np.float32) / 255.0


def disc_mask(
    centre_px: tuple[float, float],
    radius_px: float,
    feather_px: float,
    origin_px: tuple[int, int],
    shape: tuple[int, int],
) -> npt.NDArray[np.float32]:
    """Soft disc (H, W) float32: 1 inside radius - feather/2, 0 outside radius + feather/2.

    The edge is a linear ramp feather_px wide centred on the radius (at least 1 px, so
    the edge is antialiased). origin_px: the portrait pixel at the mask's (0, 0).
    """
    height, width = shape
    ys = np.arange(height, dtype=np.float32) + (origin_px[1] + 0.5 - centre_px[1])
    xs = np.arange(width, dtype=np.float32) + (origin_px[0] + 0.5 - centre_px[0])
    dist = np.sqrt(ys[:, None] ** 2 + xs[None, :] ** 2)
    ramp = max(feather_px, 1.0)
    return np.clip((radius_px + ramp / 2 - dist) / ramp, 0.0, 1.0).astype(np.float32)
