"""Where each iris goes for a gaze angle: a rotating eyeball, seen from the front.

An eyeball of radius R turning by yaw θ moves the iris centre by R·sin θ across the
image (and by R·sin φ up for pitch φ). The portrait's eyes already look somewhere
(yaw θ0, measured from where each iris sits between its eye's corners), so a frame
for yaw θ moves the iris by R·(sin θ − sin θ0): the frame for the portrait's own gaze
leaves the eyes alone.

Yaw convention (docs/pack-format.md): negative yaw looks toward a viewer on the frame's
LEFT as they face it, i.e. toward the image's left edge: the irises move to smaller x.
Positive pitch looks up (smaller y).

The iris is not foreshortened (cos θ narrower along the eye): that needs resampling,
which softens a painted iris's texture, while the 13% at ±30° barely shows behind the lids.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# Adult iris ≈ 11.7 mm across, eyeball ≈ 24 mm (anatomy references): the eyeball's
# radius is ≈ 2.05 iris radii, so a 30° turn moves the iris by about one iris radius.
IRIS_DIAMETER_MM = 11.7
EYEBALL_DIAMETER_MM = 24.0
EYEBALL_PER_IRIS_RADIUS = EYEBALL_DIAMETER_MM / IRIS_DIAMETER_MM
# The iris centre stays at least this many iris radii from either eye corner: at the
# extreme the iris just reaches the corner, as a real eye looking far sideways.
CORNER_CLEARANCE_IRIS_RADII = 1.0
# Up/down travel limits (iris radii): the eyelids are not moved (a real upper lid rises
# with the eye), so more would hide the iris under the lid instead of looking up; the
# lower lid covers less, so the iris may go further down.
MAX_UP_IRIS_RADII = 0.35
MAX_DOWN_IRIS_RADII = 0.6
# A measured original gaze beyond this (degrees) is a landmark error, not a gaze.
MAX_ORIGINAL_YAW_DEG = 40.0


@dataclass(frozen=True)
class EyePose:
    """One eye's geometry in portrait px: image-left and image-right corners, the axis
    between them (unit vector), the iris centre and radius."""

    left_corner_px: FloatArray
    right_corner_px: FloatArray
    iris_centre_px: FloatArray
    iris_radius_px: float

    @property
    def axis(self) -> FloatArray:
        v = self.right_corner_px - self.left_corner_px
        return v / max(float(np.hypot(*v)), 1e-9)

    @property
    def normal(self) -> FloatArray:
        """Unit vector across the eye, pointing down the image (y grows downward)."""
        ax, ay = self.axis
        return np.array([-ay, ax])

    @property
    def half_width_px(self) -> float:
        return float(np.hypot(*(self.right_corner_px - self.left_corner_px))) / 2

    @property
    def offset_along_axis_px(self) -> float:
        """Iris centre's distance from the corners' midpoint along the axis (+ = image right)."""
        mid = (self.left_corner_px + self.right_corner_px) / 2
        return float(np.dot(self.iris_centre_px - mid, self.axis))


def eyeball_radius_px(poses: Sequence[EyePose]) -> float:
    """R (px) shared by both eyes: they are the same size; their irises' mean radius."""
    return EYEBALL_PER_IRIS_RADIUS * float(np.mean([p.iris_radius_px for p in poses]))


def original_yaw_deg(poses: Sequence[EyePose]) -> float:
    """The portrait's own yaw (degrees): asin(iris offset from the eye's middle / R),
    averaged over the eyes, limited to ±MAX_ORIGINAL_YAW_DEG."""
    radius = eyeball_radius_px(poses)
    sines = [np.clip(p.offset_along_axis_px / radius, -1.0, 1.0) for p in poses]
    yaw = math.degrees(math.asin(float(np.mean(sines))))
    return float(np.clip(yaw, -MAX_ORIGINAL_YAW_DEG, MAX_ORIGINAL_YAW_DEG))


def iris_travel_px(
    yaw_deg: float,
    pitch_deg: float,
    original_yaw_deg: float,
    original_pitch_deg: float,
    eyeball_radius: float,
) -> tuple[float, float]:
    """(along, up) travel of the iris (px) from where the portrait has it, unclamped.

    along: toward the image right; up: toward the image top.
    """
    along = eyeball_radius * (
        math.sin(math.radians(yaw_deg)) - math.sin(math.radians(original_yaw_deg))
    )
    up = eyeball_radius * (
        math.sin(math.radians(pitch_deg)) - math.sin(math.radians(original_pitch_deg))
    )
    return along, up


def clamp_travel(pose: EyePose, along_px: float, up_px: float) -> tuple[float, float]:
    """(along, up) limited so the iris stays inside its eye opening."""
    reach = max(pose.half_width_px - CORNER_CLEARANCE_IRIS_RADII * pose.iris_radius_px, 0.0)
    start = pose.offset_along_axis_px
    target = float(np.clip(start + along_px, -reach, reach))
    # An iris that already sits beyond the reach may stay put but not go further out.
    if abs(start) > reach:
        target = float(np.clip(start + along_px, min(start, -reach), max(start, reach)))
    r = pose.iris_radius_px
    return target - start, float(np.clip(up_px, -MAX_DOWN_IRIS_RADII * r, MAX_UP_IRIS_RADII * r))


def iris_shift_px(pose: EyePose, along_px: float, up_px: float) -> FloatArray:
    """(dx, dy) image shift (px) for a travel along the eye's axis and up across it."""
    return along_px * pose.axis - up_px * pose.normal
