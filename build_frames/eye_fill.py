"""Filling in what the eyelids and the iris hide: plausible sclera, and the iris's hidden part.

Pure numpy/OpenCV on small eye-sized arrays (float32 RGB, 0..255).

Sclera: with the eye turned level, each row is interpolated between the (smoothed)
visible sclera on either side of the iris, so the fill meets the sclera around it without
a step and keeps each row's own shading (the upper lid's shadow); then the painting's
own grain (its measured fine-scale variation) on top, so the filled part is
not smoother than the rest. Iris: the part under the lids is filled with the colour of
the visible iris at the same distance from the centre (irises are radial).
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

# The sclera samples are smoothed by a Gaussian of this sigma (iris radii) before they
# are interpolated, so single pixels (a lash, a crack) do not streak across the fill.
SCLERA_SMOOTH_RADII = 0.15
# Rows are interpolated independently; a vertical Gaussian of this sigma (iris radii)
# then evens out neighbouring rows.
SCLERA_ROW_BLEND_RADII = 0.1
# The painting's grain: fine-scale variation of the sclera, measured as the spread of its
# difference from a blur of this many px, re-created with noise blurred by GRAIN_SIGMA_PX.
GRAIN_MEASURE_SIGMA_PX = 2.0
GRAIN_SIGMA_PX = 0.7
# Grain amplitude is capped (grey levels) so a stray lash in the sample cannot add speckle.
MAX_GRAIN_STD = 8.0
# Fixed seed: the grain is part of the picture and the same in every frame (no flicker).
GRAIN_SEED = 20240601
# Radial bins (per iris radius) for the iris fill profile.
IRIS_PROFILE_BINS = 16
# Gaussian sigmas below this (px) are raised to it: OpenCV's smallest real blur.
MIN_SIGMA_PX = 0.3
# A smoothed sclera value is used only where at least this much of its Gaussian lay on
# sclera (at the sclera's edge the average leans on too few pixels).
MIN_SAMPLE_WEIGHT = 0.25
# Below this many visible pixels the sample says nothing; fall back to the mean colour.
MIN_SAMPLES = 8


def _blur(image: np.ndarray, sigma_x: float, sigma_y: float) -> np.ndarray:
    return cv2.GaussianBlur(
        image,
        (0, 0),
        sigmaX=max(sigma_x, MIN_SIGMA_PX),
        sigmaY=max(sigma_y, MIN_SIGMA_PX),
        borderType=cv2.BORDER_REFLECT,
    )


def normalised_fill(values: F32, weight: F32, sigma_x: float, sigma_y: float) -> tuple[F32, F32]:
    """(H, W, 3) weighted Gaussian average of `values` where weight (H, W) > 0, and the
    blurred weight (H, W), which says how much sample each pixel's average rests on."""
    num = _blur(values * weight[..., None], sigma_x, sigma_y)
    den = _blur(weight, sigma_x, sigma_y)
    return num / np.maximum(den, 1e-6)[..., None], den


def interpolate_rows(values: F32, known: npt.NDArray[np.bool_]) -> F32:
    """(H, W, 3) with each unknown pixel linearly interpolated between the nearest known
    pixels of its row (held constant beyond the last one); rows with nothing known are
    interpolated the same way down the columns from the rows that have."""
    out = values.copy()
    cols = np.arange(values.shape[1])
    has = known.any(axis=1)
    for y in np.flatnonzero(has):
        xs = np.flatnonzero(known[y])
        for c in range(3):
            out[y, :, c] = np.interp(cols, xs, values[y, xs, c])
    rows_known = np.flatnonzero(has)
    if rows_known.size == 0:
        return out
    rows = np.arange(values.shape[0])
    for x in range(values.shape[1]):
        for c in range(3):
            out[:, x, c] = np.interp(rows, rows_known, out[rows_known, x, c])
    return out


def rotate(image: np.ndarray, angle_deg: float, inverse: bool = False) -> np.ndarray:
    """`image` turned by angle_deg about its centre (or back, with inverse), same size."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    if inverse:
        matrix = cv2.invertAffineTransform(matrix)
    return cv2.warpAffine(
        image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


def sclera_fill(
    rgb: F32, sclera: npt.NDArray[np.bool_], iris_radius_px: float, axis_angle_deg: float
) -> F32:
    """A smooth sclera estimate (H, W, 3) everywhere from the `sclera` (H, W) pixels.

    The eye is turned level (its axis at axis_angle_deg, image axes), each row is
    interpolated between the smoothed sclera on either side, so the fill meets the
    sclera it replaces without a step and keeps each row's shading, then turned back.
    """
    if int(sclera.sum()) < MIN_SAMPLES:
        mean = rgb.reshape(-1, 3).mean(axis=0)
        return np.broadcast_to(mean, rgb.shape).astype(np.float32).copy()
    level_rgb = rotate(rgb, axis_angle_deg)
    level_w = rotate(sclera.astype(np.float32), axis_angle_deg)
    sigma = SCLERA_SMOOTH_RADII * iris_radius_px
    smooth, weight = normalised_fill(level_rgb, level_w, sigma, sigma)
    filled = interpolate_rows(smooth, (level_w > 0.5) & (weight > MIN_SAMPLE_WEIGHT))
    across = SCLERA_ROW_BLEND_RADII * iris_radius_px
    filled = _blur(filled, MIN_SIGMA_PX, across)
    return rotate(filled, axis_angle_deg, inverse=True).astype(np.float32)


def grain_std(rgb: F32, sample: npt.NDArray[np.bool_]) -> npt.NDArray[np.float32]:
    """Per-channel spread (grey levels) of the fine detail of `rgb` over `sample` pixels."""
    if int(sample.sum()) < MIN_SAMPLES:
        return np.zeros(3, np.float32)
    detail = rgb - _blur(rgb, GRAIN_MEASURE_SIGMA_PX, GRAIN_MEASURE_SIGMA_PX)
    return np.minimum(detail[sample].std(axis=0), MAX_GRAIN_STD).astype(np.float32)


def grain(shape: tuple[int, int], std: npt.NDArray[np.float32], seed: int = GRAIN_SEED) -> F32:
    """(H, W, 3) fine noise with per-channel spread `std`, the same in every channel's
    pattern (a painting's grain is in its surface, not in one pigment)."""
    rng = np.random.default_rng(seed)
    noise = _blur(rng.standard_normal(shape).astype(np.float32), GRAIN_SIGMA_PX, GRAIN_SIGMA_PX)
    noise /= max(float(noise.std()), 1e-6)
    return (noise[..., None] * std[None, None, :]).astype(np.float32)


def radial_profile_fill(
    rgb: F32, visible: npt.NDArray[np.bool_], centre_xy: tuple[float, float], radius_px: float
) -> F32:
    """`rgb` (H, W, 3) with every pixel not `visible` replaced by the median colour of the
    visible pixels at the same distance from centre_xy (array coordinates, pixel centres
    at integers + 0.5), so a half-hidden iris becomes a whole one."""
    h, w = visible.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rho = np.hypot(xx + 0.5 - centre_xy[0], yy + 0.5 - centre_xy[1]) / max(radius_px, 1e-6)
    bins = np.minimum(
        (rho * IRIS_PROFILE_BINS).astype(np.int32), int(rho.max() * IRIS_PROFILE_BINS)
    )
    n_bins = int(bins.max()) + 1
    profile = np.full((n_bins, 3), np.nan, np.float32)
    for b in range(n_bins):
        chosen = visible & (bins == b)
        if int(chosen.sum()) >= 1:
            profile[b] = np.median(rgb[chosen], axis=0)
    known = np.flatnonzero(~np.isnan(profile[:, 0]))
    if known.size == 0:
        return rgb.copy()
    for c in range(3):  # bins with no visible pixel take the nearest known bins' colour
        profile[:, c] = np.interp(np.arange(n_bins), known, profile[known, c])
    out = rgb.copy()
    out[~visible] = profile[bins[~visible]]
    return out
