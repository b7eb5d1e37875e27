"""Moving an iris inside its eye opening at the portrait's full resolution.

prepare_eye() does the work once per eye: the eyelid opening as a soft mask, the eye
with its iris taken out and the hole filled with sclera ("empty eye"), and the iris as a
sprite (its own pixels, catch-light and texture included; the part under the lids filled
in radially). render_eye() then draws one gaze: the sprite, moved by whole pixels (never
resampled, so never softened), over the empty eye, seen through the opening, so the
eyelids keep covering what they cover. Outside the opening the portrait is untouched.

Arrays are float32 RGB 0..255 in an eye-sized rectangle of the portrait (EyeLayer.rect).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from build_frames import eye_fill, geometry
from build_frames.analysis import Eye
from build_frames.gaze import EyePose
from device.pack import PatchRect

F32 = npt.NDArray[np.float32]
FloatArray = npt.NDArray[np.float64]

# All sizes below are in iris radii, so they scale with the portrait.
# The original iris is cut out to this radius: a painted limbus is soft and wide.
HOLE_RADIUS_RADII = 1.15
# The moved iris's edge ramps from opaque to clear over this width around its radius.
IRIS_EDGE_FEATHER_RADII = 0.25
# Sclera samples lie at least this far from the iris centre (clear of its soft edge).
SCLERA_KEEP_OUT_RADII = 1.3
# Pixels this close to an eyelid are lid, lashes or their shadow: not sampled.
LID_MARGIN_RADII = 0.12
# The eyelid opening's edge is antialiased and softened by a Gaussian of this sigma.
OPENING_FEATHER_RADII = 0.06
# The iris sprite is a square of this half-size around the iris centre.
SPRITE_HALF_RADII = 1.4
# Extra border (px) around everything an eye may change, for the soft edges.
RECT_MARGIN_PX = 3


def eye_pose(eye: Eye) -> EyePose:
    left, right = eye.corners_px
    return EyePose(left, right, eye.iris_centre_px, eye.iris_radius_px)


@dataclass(frozen=True, eq=False)
class EyeLayer:
    """One eye, ready to be drawn looking anywhere.

    rect: the portrait rectangle this eye may change. base: (h, w, 3) its pixels.
    opening: (h, w) soft eyelid opening. empty: (h, w, 3) the eye without its iris.
    sprite / sprite_alpha: (s, s, 3) / (s, s) the iris and its soft disc.
    sprite_origin_px: portrait pixel of the sprite's (0, 0).
    """

    pose: EyePose
    rect: PatchRect
    base: F32
    opening: F32
    empty: F32
    sprite: F32
    sprite_alpha: F32
    sprite_origin_px: tuple[int, int]


def eye_rect(eye: Eye, image_size: tuple[int, int]) -> PatchRect:
    """The rectangle (px) holding the eye opening and the iris hole, plus a margin."""
    r = eye.iris_radius_px * max(HOLE_RADIUS_RADII, SPRITE_HALF_RADII)
    lo = np.minimum(eye.opening_px.min(axis=0), eye.iris_centre_px - r)
    hi = np.maximum(eye.opening_px.max(axis=0), eye.iris_centre_px + r)
    m = RECT_MARGIN_PX + 3 * OPENING_FEATHER_RADII * eye.iris_radius_px
    return geometry.rect_from_bounds(lo[0] - m, lo[1] - m, hi[0] + m, hi[1] + m, image_size)


def _erode(mask: npt.NDArray[np.bool_], radius_px: float) -> npt.NDArray[np.bool_]:
    k = max(int(round(radius_px)), 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    return cv2.erode(mask.astype(np.uint8), kernel).astype(bool)


def opening_mask(eye: Eye, rect: PatchRect) -> F32:
    """(h, w) soft coverage of the eyelid opening over `rect`."""
    hard = geometry.polygon_mask(eye.opening_px, (rect.x, rect.y), (rect.height, rect.width))
    sigma = OPENING_FEATHER_RADII * eye.iris_radius_px
    if sigma < eye_fill.MIN_SIGMA_PX:
        return hard
    return np.asarray(cv2.GaussianBlur(hard, (0, 0), sigma), np.float32)


def empty_eye(base: F32, inner: npt.NDArray[np.bool_], eye: Eye, rect: PatchRect) -> F32:
    """(h, w, 3) the eye's rect with the iris cut out (HOLE_RADIUS_RADII) and the hole
    filled with sclera plus the painting's grain; `inner`: the opening clear of the lids."""
    r = eye.iris_radius_px
    centre = (float(eye.iris_centre_px[0]), float(eye.iris_centre_px[1]))
    origin, shape = (rect.x, rect.y), (rect.height, rect.width)
    keep_out = geometry.disc_mask(centre, SCLERA_KEEP_OUT_RADII * r, 1.0, origin, shape)
    sclera = inner & (keep_out == 0)
    axis = eye_pose(eye).axis
    fill = eye_fill.sclera_fill(base, sclera, r, math.degrees(math.atan2(axis[1], axis[0])))
    fill += eye_fill.grain(shape, eye_fill.grain_std(base, sclera))
    feather = IRIS_EDGE_FEATHER_RADII * r
    hole = geometry.disc_mask(centre, HOLE_RADIUS_RADII * r, feather, origin, shape)
    return base + hole[..., None] * (fill - base)


def iris_sprite(
    base: F32, inner: npt.NDArray[np.bool_], eye: Eye, rect: PatchRect
) -> tuple[F32, F32, tuple[int, int]]:
    """The iris as a square sprite on whole portrait pixels: (s, s, 3) colours (its hidden
    part filled ring by ring), (s, s) soft disc alpha, and the sprite's (0, 0) in px."""
    r = eye.iris_radius_px
    centre = (float(eye.iris_centre_px[0]), float(eye.iris_centre_px[1]))
    half = int(math.ceil(SPRITE_HALF_RADII * r))
    side = 2 * half + 1
    sx, sy = int(math.floor(centre[0])) - half, int(math.floor(centre[1])) - half
    # Padding lets a sprite reach past the rect (an eye at the portrait's edge).
    padded = np.asarray(
        cv2.copyMakeBorder(base, side, side, side, side, cv2.BORDER_REFLECT), np.float32
    )
    ox, oy = sx - rect.x + side, sy - rect.y + side
    rgb = padded[oy : oy + side, ox : ox + side]
    disc = geometry.disc_mask(centre, r, 1.0, (sx, sy), (side, side)) >= 1.0
    visible = np.pad(inner, side)[oy : oy + side, ox : ox + side] & disc
    sprite = eye_fill.radial_profile_fill(rgb, visible, (centre[0] - sx, centre[1] - sy), r)
    alpha = geometry.disc_mask(centre, r, IRIS_EDGE_FEATHER_RADII * r, (sx, sy), (side, side))
    return sprite, alpha, (sx, sy)


def prepare_eye(image: npt.NDArray[np.uint8], eye: Eye) -> EyeLayer:
    """Everything needed to draw `eye` (of `image`, (H, W, 3) uint8) looking anywhere."""
    rect = eye_rect(eye, (image.shape[1], image.shape[0]))
    base = image[rect.slices].astype(np.float32)
    opening = opening_mask(eye, rect)
    inner = _erode(opening > 0.5, LID_MARGIN_RADII * eye.iris_radius_px)
    sprite, alpha, origin = iris_sprite(base, inner, eye, rect)
    return EyeLayer(
        eye_pose(eye),
        rect,
        base,
        opening,
        empty_eye(base, inner, eye, rect),
        sprite,
        alpha,
        origin,
    )


def paste_offset(layer: EyeLayer, shift_px: FloatArray) -> tuple[int, int]:
    """(x, y) of the sprite's (0, 0) in the rect for a shift, rounded to whole pixels:
    the iris is moved, never resampled, so its texture and catch-light stay exact."""
    dx, dy = (int(round(float(v))) for v in shift_px)
    sx, sy = layer.sprite_origin_px
    return sx - layer.rect.x + dx, sy - layer.rect.y + dy


def render_eye(layer: EyeLayer, shift_px: FloatArray) -> npt.NDArray[np.uint8]:
    """The eye's rect (h, w, 3) uint8 with the iris moved by shift_px (dx, dy), rounded
    to whole pixels; a shift that rounds to nothing gives the portrait's own pixels."""
    h, w = layer.opening.shape
    if not any(int(round(float(v))) for v in shift_px):
        return np.asarray(layer.base, np.uint8)  # not moved: the portrait as it is
    ox, oy = paste_offset(layer, np.asarray(shift_px, np.float64))
    side = layer.sprite_alpha.shape[0]
    x0, y0, x1, y1 = max(ox, 0), max(oy, 0), min(ox + side, w), min(oy + side, h)
    eye = layer.empty.copy()
    if x1 > x0 and y1 > y0:
        alpha = layer.sprite_alpha[y0 - oy : y1 - oy, x0 - ox : x1 - ox, None]
        rgb = layer.sprite[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
        under = eye[y0:y1, x0:x1]
        eye[y0:y1, x0:x1] = under + alpha * (rgb - under)
    out = layer.base + layer.opening[..., None] * (eye - layer.base)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
