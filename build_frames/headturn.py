"""A subtle head turn: a smooth warp driven by the face mesh (a few degrees at most).

The mesh's 468 points carry depth (z, px, smaller = nearer the viewer). Turning the
head by ψ about a vertical axis behind the face moves each point across the image by
(x − xc)(cos ψ − 1) − (z − zc) sin ψ (orthographic view): the nose, nearest, moves
most. Those shifts are spread into a smooth field (a normalised Gaussian splat), faded
out with the blend alpha so the warp ends where the head meets the painting, and the
head is resampled through it.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from device.pack import PatchRect

F32 = npt.NDArray[np.float32]
FloatArray = npt.NDArray[np.float64]

# "A few degrees at most": beyond this the 2D warp visibly smears the far cheek.
MAX_HEAD_TURN_DEG = 8.0
# The turn's axis lies this far (face widths) behind the face's mean depth: a head is
# about as deep as it is wide and turns about the neck.
PIVOT_DEPTH_FACE_WIDTHS = 0.5
# The mesh shifts are spread with a Gaussian of this sigma (face widths): smooth enough
# that no single landmark shows, fine enough to keep the nose ahead of the cheeks.
SPLAT_SIGMA_FACE_WIDTHS = 0.08
# The field is computed on cells this many per sigma (then resized to pixels).
FIELD_CELLS_PER_SIGMA = 4.0
# The coarse field that reaches hair and background is this many times wider.
COARSE_SIGMA_FACTOR = 4.0
# Where the fine field's weight is above 1/this of its peak, it is trusted fully.
FINE_TRUST_GAIN = 20.0
# The warped head is resampled with Lanczos (8×8): it stays as sharp as the painting.
WARP_INTERPOLATION = cv2.INTER_LANCZOS4


def head_turn_for_yaw(
    yaw_deg: float,
    original_yaw_deg: float,
    yaw_range_deg: tuple[float, float],
    head_turn_deg: float,
) -> float:
    """Head turn ψ (degrees) for one frame: 0 at the portrait's own gaze, ±head_turn_deg
    at the end of the yaw range farther from it, proportional in between."""
    reach = max(abs(yaw_range_deg[0] - original_yaw_deg), abs(yaw_range_deg[1] - original_yaw_deg))
    if reach == 0 or head_turn_deg == 0:
        return 0.0
    return float(head_turn_deg * np.clip((yaw_deg - original_yaw_deg) / reach, -1.0, 1.0))


def landmark_shift_px(mesh_px: FloatArray, turn_deg: float, face_width_px: float) -> FloatArray:
    """(N,) horizontal shift (px) of each mesh point (N, 3) when the head turns by
    turn_deg (positive: toward the image's right)."""
    psi = math.radians(turn_deg)
    xc = float(mesh_px[:, 0].mean())
    zc = float(mesh_px[:, 2].mean()) + PIVOT_DEPTH_FACE_WIDTHS * face_width_px
    return (mesh_px[:, 0] - xc) * (math.cos(psi) - 1.0) - (mesh_px[:, 2] - zc) * math.sin(psi)


def shift_field(
    points_px: FloatArray, shifts_px: FloatArray, rect: PatchRect, sigma_px: float
) -> F32:
    """(h, w) smooth field over `rect` through the shifts at points (N, 2): a Gaussian-
    weighted average of the nearby shifts (far from every point: of the nearest ones).

    Computed on a grid of cells sigma / FIELD_CELLS_PER_SIGMA px wide and resized up
    (the field is smooth on that scale; full-resolution blurs of this width take seconds).
    """
    cell = max(sigma_px / FIELD_CELLS_PER_SIGMA, 1.0)
    gh, gw = max(int(math.ceil(rect.height / cell)), 1), max(int(math.ceil(rect.width / cell)), 1)
    num = np.zeros((gh, gw), np.float32)
    den = np.zeros((gh, gw), np.float32)
    cols = np.clip(np.floor((points_px[:, 0] - rect.x) / cell).astype(int), 0, gw - 1)
    rows = np.clip(np.floor((points_px[:, 1] - rect.y) / cell).astype(int), 0, gh - 1)
    np.add.at(num, (rows, cols), shifts_px.astype(np.float32))
    np.add.at(den, (rows, cols), 1.0)
    # Two scales: the fine one shapes the face; the coarse one carries the field out to
    # hair and background, where the fine one has no weight left.
    sigma = sigma_px / cell
    eps = 1e-12
    fine_n, fine_d = (cv2.GaussianBlur(a, (0, 0), sigma) for a in (num, den))
    coarse_n, coarse_d = (
        cv2.GaussianBlur(a, (0, 0), COARSE_SIGMA_FACTOR * sigma) for a in (num, den)
    )
    coarse = coarse_n / np.maximum(coarse_d, eps)
    trust = np.clip(fine_d / max(float(fine_d.max()), eps) * FINE_TRUST_GAIN, 0.0, 1.0)
    fine = fine_n / np.maximum(fine_d, eps)
    grid = (fine * trust + coarse * (1.0 - trust)).astype(np.float32)
    return cv2.resize(grid, (rect.width, rect.height), interpolation=cv2.INTER_CUBIC)


def warp_horizontal(region: npt.NDArray[np.uint8], shift_px: F32) -> npt.NDArray[np.uint8]:
    """`region` (h, w, 3) with each pixel moved right by shift_px (h, w).

    Backward mapping: output(x) = input(x − shift(x)), exact for a field as smooth as
    shift_field's (its change over one shift is far below a pixel).
    """
    h, w = shift_px.shape
    map_x = np.arange(w, dtype=np.float32)[None, :] - shift_px
    map_y = np.repeat(np.arange(h, dtype=np.float32)[:, None], w, axis=1)
    warped = cv2.remap(region, map_x, map_y, WARP_INTERPOLATION, borderMode=cv2.BORDER_REFLECT)
    return np.asarray(warped, np.uint8)
