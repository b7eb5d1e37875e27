"""Blending a changed head back into the painting, shared by every method.

Alpha is a 2D sigmoid of the distance to the head centre m:

    alpha = 1 / (1 + exp(j · (r − k)))

r is the distance from m normalised by the head box's half-size (a, b): elliptical,
r = sqrt(((x − mx)/a)² + ((y − my)/b)²), or square (Chebyshev), r = max(|x − mx|/a,
|y − my|/b); j is the slope, k the inflection (alpha = ½ at r = k). The original Mona Lisa
project used the square shape on a 512-px head crop,
alpha = 1 / (1 + exp(0.06 · (max(|x − 256|, |y − 256|) − 180))): with a = b = 256 px
that is j = 0.06 · 256 = 15.36 and k = 180 / 256 = 0.703125, the square defaults below.

Generated heads (FOMM) do not share the painting's colours; match_colours moves their
colour statistics (mean and spread per CIELAB channel, weighted by alpha) onto the
painting's before blending.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from build_frames import geometry
from build_frames.errors import OptionError
from device.pack import PatchRect

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

ALPHA_SHAPES = ("ellipse", "square")
# Ellipse defaults: fully the new head (alpha > 0.99) inside r = 0.53, half-way at 0.72,
# and below 1/512 from r = 0.98 on, so a head crop's own edge (r = 1) never shows.
DEFAULT_J = {"ellipse": 24.0, "square": 15.36}
DEFAULT_K = {"ellipse": 0.72, "square": 0.703125}
# Alpha below this cannot move an 8-bit value by half a level (255 / 512 < 0.5): it is
# set to exactly 0, so the painting outside the blend is untouched, bit for bit.
ALPHA_FLOOR = 1.0 / 512.0
# A generated head's own crop fades to nothing over this fraction of its half-size at its
# edge, so no step can show there whatever j and k are.
CROP_EDGE_TAPER = 0.03
# exp() arguments are clipped to ±this: alpha is then 0 or 1 to float32 precision anyway.
_EXP_LIMIT = 60.0
# Colour matching never scales a channel's spread by more than this factor either way.
MAX_SPREAD_RATIO = 2.0


@dataclass(frozen=True)
class AlphaSpec:
    """How to blend: shape ("ellipse" or "square"), slope j, inflection k (normalised
    radius), centre m (portrait px) and the head box's half-size (a, b) in px."""

    shape: str
    j: float
    k: float
    centre_px: tuple[float, float]
    semi_axes_px: tuple[float, float]

    def __post_init__(self) -> None:
        if self.shape not in ALPHA_SHAPES:
            raise OptionError(f"--alpha-shape {self.shape!r}: choose one of {list(ALPHA_SHAPES)}")
        if not (math.isfinite(self.j) and self.j > 0):
            raise OptionError(f"--alpha-j {self.j!r}: the slope must be a positive number")
        if not (math.isfinite(self.k) and self.k > 0):
            raise OptionError(f"--alpha-k {self.k!r}: the inflection must be a positive number")
        if min(self.semi_axes_px) <= 0:
            raise OptionError(f"head box half-size {self.semi_axes_px!r} px must be positive")

    @property
    def support_radius(self) -> float:
        """Normalised radius beyond which alpha < ALPHA_FLOOR (and is set to 0)."""
        return self.k + math.log(1.0 / ALPHA_FLOOR - 1.0) / self.j


def alpha_spec(
    shape: str,
    j: float | None,
    k: float | None,
    centre_px: tuple[float, float] | None,
    head_box_px: tuple[float, float, float, float],
) -> AlphaSpec:
    """The AlphaSpec for a head box (x0, y0, x1, y1), with the shape's defaults for any
    of j, k, centre left as None (centre: the head box's centre)."""
    if shape not in ALPHA_SHAPES:
        raise OptionError(f"--alpha-shape {shape!r}: choose one of {list(ALPHA_SHAPES)}")
    x0, y0, x1, y1 = head_box_px
    centre = centre_px if centre_px is not None else ((x0 + x1) / 2, (y0 + y1) / 2)
    return AlphaSpec(
        shape,
        DEFAULT_J[shape] if j is None else float(j),
        DEFAULT_K[shape] if k is None else float(k),
        (float(centre[0]), float(centre[1])),
        ((x1 - x0) / 2, (y1 - y0) / 2),
    )


def normalised_radius(spec: AlphaSpec, rect: PatchRect) -> F32:
    """(h, w) r of every pixel centre of `rect` (portrait px)."""
    xs = np.arange(rect.width, dtype=np.float32) + rect.x + 0.5 - spec.centre_px[0]
    ys = np.arange(rect.height, dtype=np.float32) + rect.y + 0.5 - spec.centre_px[1]
    u = np.abs(xs / spec.semi_axes_px[0])[None, :]
    v = np.abs(ys / spec.semi_axes_px[1])[:, None]
    if spec.shape == "square":
        return np.maximum(u, v).astype(np.float32)
    return np.sqrt(u * u + v * v).astype(np.float32)


def sigmoid_alpha(r: F32, j: float, k: float) -> F32:
    """alpha = 1 / (1 + exp(j (r − k))), with values below ALPHA_FLOOR set to 0."""
    alpha = 1.0 / (1.0 + np.exp(np.clip(j * (r - k), -_EXP_LIMIT, _EXP_LIMIT)))
    alpha[alpha < ALPHA_FLOOR] = 0.0
    return alpha.astype(np.float32)


def alpha_map(spec: AlphaSpec, rect: PatchRect) -> F32:
    """(h, w) alpha over `rect`."""
    return sigmoid_alpha(normalised_radius(spec, rect), spec.j, spec.k)


def support_rect(spec: AlphaSpec, image_size: tuple[int, int]) -> PatchRect:
    """The rectangle outside which alpha is 0, clipped to the image (w, h)."""
    reach = spec.support_radius
    (cx, cy), (a, b) = spec.centre_px, spec.semi_axes_px
    return geometry.rect_from_bounds(
        cx - reach * a - 1,
        cy - reach * b - 1,
        cx + reach * a + 1,
        cy + reach * b + 1,
        image_size,
    )


def crop_edge_taper(rect: PatchRect, crop: PatchRect) -> F32:
    """(h, w) weight over `rect`: 1 well inside `crop`, falling smoothly to 0 at its edge
    (over CROP_EDGE_TAPER of its half-size) and 0 outside it."""
    xs = np.arange(rect.width, dtype=np.float32) + rect.x + 0.5
    ys = np.arange(rect.height, dtype=np.float32) + rect.y + 0.5
    half_w, half_h = crop.width / 2, crop.height / 2
    u = 1.0 - np.abs(xs - (crop.x + half_w)) / half_w
    v = 1.0 - np.abs(ys - (crop.y + half_h)) / half_h
    inside = np.minimum(v[:, None], u[None, :]) / CROP_EDGE_TAPER
    t = np.clip(inside, 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)  # smoothstep


def blend(base: U8, generated: npt.ArrayLike, alpha: F32) -> U8:
    """base + alpha (generated − base), rounded; (h, w, 3) each, alpha (h, w).

    Where alpha is 0 the result is `base` exactly.
    """
    b = base.astype(np.float32)
    out = b + alpha[..., None] * (np.asarray(generated, np.float32) - b)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _lab(rgb: npt.ArrayLike) -> F32:
    lab = cv2.cvtColor(np.asarray(rgb, np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    return np.asarray(lab, np.float32)


def _weighted_stats(lab: F32, weight: F32) -> tuple[F32, F32]:
    w = weight[..., None]
    total = max(float(weight.sum()), 1e-6)
    mean = (lab * w).sum(axis=(0, 1)) / total
    var = (((lab - mean) ** 2) * w).sum(axis=(0, 1)) / total
    return mean.astype(np.float32), np.sqrt(var).astype(np.float32)


def match_colours(frames: Sequence[U8], reference: U8, weight: F32) -> list[U8]:
    """`frames` (each (h, w, 3) uint8) with their joint CIELAB mean and spread moved onto
    the reference's, both weighted by `weight` (h, w). One transform for all frames, so
    the sequence does not flicker."""
    if not frames:
        return []
    ref_mean, ref_std = _weighted_stats(_lab(reference), weight)
    stats = [_weighted_stats(_lab(f), weight) for f in frames]
    gen_mean = np.mean([m for m, _ in stats], axis=0)
    gen_std = np.sqrt(np.mean([s**2 + (m - gen_mean) ** 2 for m, s in stats], axis=0))
    ratio = np.clip(ref_std / np.maximum(gen_std, 1e-3), 1 / MAX_SPREAD_RATIO, MAX_SPREAD_RATIO)
    out = []
    for frame in frames:
        lab = (_lab(frame) - gen_mean) * ratio + ref_mean
        rgb = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB) * 255.0
        out.append(np.clip(np.rint(rgb), 0, 255).astype(np.uint8))
    return out
