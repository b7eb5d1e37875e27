"""Pinhole camera geometry: how wide a face looks from a distance, and back.

Pure maths; no camera, detector or display imports. A lens of horizontal field of view
FOV on an image W px wide has the focal length f = (W / 2) / tan(FOV / 2) px, and an
object W_m metres wide at distance d metres (facing the camera, near the optical axis)
is W_m · f / d px wide.
"""

from __future__ import annotations

import math

# An adult face, cheek to cheek, in metres: the width a BlazeFace box spans.
FACE_WIDTH_M = 0.15


def focal_length_px(image_width_px: float, horizontal_fov_deg: float) -> float:
    """Focal length in px of a pinhole camera whose image_width_px span horizontal_fov_deg."""
    if image_width_px <= 0 or not 0.0 < horizontal_fov_deg < 180.0:
        raise ValueError(
            f"need image_width_px > 0 and 0 < horizontal_fov_deg < 180, got "
            f"{image_width_px!r} and {horizontal_fov_deg!r}"
        )
    return (image_width_px / 2.0) / math.tan(math.radians(horizontal_fov_deg) / 2.0)


def face_width_px(
    distance_m: float,
    image_width_px: float,
    horizontal_fov_deg: float,
    face_width_m: float = FACE_WIDTH_M,
) -> float:
    """Width in px of a face face_width_m wide, distance_m metres from the camera."""
    if distance_m <= 0:
        raise ValueError(f"distance_m must be > 0, got {distance_m!r}")
    return face_width_m * focal_length_px(image_width_px, horizontal_fov_deg) / distance_m


def face_distance_m(
    width_px: float,
    image_width_px: float,
    horizontal_fov_deg: float,
    face_width_m: float = FACE_WIDTH_M,
) -> float:
    """Distance in metres at which a face face_width_m wide looks width_px wide."""
    if width_px <= 0:
        raise ValueError(f"width_px must be > 0, got {width_px!r}")
    return face_width_m * focal_length_px(image_width_px, horizontal_fov_deg) / width_px


def offset_px(
    offset_m: float, distance_m: float, image_width_px: float, horizontal_fov_deg: float
) -> float:
    """Image offset in px of a point offset_m metres off the optical axis at distance_m."""
    if distance_m <= 0:
        raise ValueError(f"distance_m must be > 0, got {distance_m!r}")
    return offset_m * focal_length_px(image_width_px, horizontal_fov_deg) / distance_m
