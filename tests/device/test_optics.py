"""Pinhole geometry: face width in px at a distance, and back."""

from __future__ import annotations

import math

import pytest

from device import optics
from device.gaze import pixel_to_yaw_deg


def test_focal_length_of_the_camera_module_3_at_1280_px() -> None:
    # f = 640 / tan(33°) = 985.5 px
    assert optics.focal_length_px(1280, 66.0) == pytest.approx(985.51, abs=0.01)
    # A 90° lens: f is half the width.
    assert optics.focal_length_px(1000, 90.0) == pytest.approx(500.0)


@pytest.mark.parametrize(
    ("distance_m", "expected_px"),
    # The figures: ~200 px at 0.7 m, ~60 px at 2.5 m, ~26 px at 5.5 m.
    [(0.5, 295.7), (0.7, 211.2), (2.5, 59.1), (4.0, 36.96), (5.5, 26.9)],
)
def test_face_width_px_at_a_distance(distance_m: float, expected_px: float) -> None:
    assert optics.face_width_px(distance_m, 1280, 66.0) == pytest.approx(expected_px, abs=0.1)


def test_width_halves_when_the_distance_doubles_and_scales_with_the_image() -> None:
    near = optics.face_width_px(1.0, 1280, 66.0)
    assert optics.face_width_px(2.0, 1280, 66.0) == pytest.approx(near / 2)
    assert optics.face_width_px(1.0, 640, 66.0) == pytest.approx(near / 2)
    assert optics.face_width_px(1.0, 1280, 66.0, face_width_m=0.3) == pytest.approx(2 * near)


def test_distance_is_the_inverse_of_width() -> None:
    for distance_m in (0.5, 1.3, 4.0, 6.0):
        width = optics.face_width_px(distance_m, 1280, 66.0)
        assert optics.face_distance_m(width, 1280, 66.0) == pytest.approx(distance_m)


def test_offset_agrees_with_the_gaze_angle() -> None:
    # A viewer 1 m to the side at 2 m is atan(1/2) = 26.6° off axis.
    x_px = 640 + optics.offset_px(1.0, 2.0, 1280, 66.0)
    angle = pixel_to_yaw_deg(x_px, 1280, 66.0, mirror=True)
    assert angle == pytest.approx(math.degrees(math.atan(0.5)))


@pytest.mark.parametrize(
    "call",
    [
        lambda: optics.focal_length_px(0, 66.0),
        lambda: optics.focal_length_px(1280, 180.0),
        lambda: optics.face_width_px(0.0, 1280, 66.0),
        lambda: optics.face_distance_m(-1.0, 1280, 66.0),
        lambda: optics.offset_px(1.0, 0.0, 1280, 66.0),
    ],
)
def test_impossible_geometry_is_refused(call) -> None:
    with pytest.raises(ValueError):
        call()
