"""The eyeball model: signs, the portrait's own gaze, clamping inside the eye."""

from __future__ import annotations

import math

import numpy as np
import pytest

from build_frames import gaze


def pose(
    offset_px: float = 0.0, radius: float = 5.0, half_width: float = 15.0, tilt_deg: float = 0.0
) -> gaze.EyePose:
    a = math.radians(tilt_deg)
    axis = np.array([math.cos(a), math.sin(a)])
    mid = np.array([100.0, 50.0])
    return gaze.EyePose(
        mid - half_width * axis, mid + half_width * axis, mid + offset_px * axis, radius
    )


def test_eyeball_is_about_two_iris_radii():
    assert gaze.EYEBALL_PER_IRIS_RADIUS == pytest.approx(24.0 / 11.7)
    assert gaze.eyeball_radius_px([pose(radius=4.0), pose(radius=6.0)]) == pytest.approx(
        5.0 * 24.0 / 11.7
    )


def test_negative_yaw_moves_irises_to_image_left_and_positive_to_the_right():
    left, _ = gaze.iris_travel_px(-30.0, 0.0, 0.0, 0.0, 10.0)
    right, _ = gaze.iris_travel_px(30.0, 0.0, 0.0, 0.0, 10.0)
    assert left == pytest.approx(-5.0) and right == pytest.approx(5.0)
    shift = gaze.iris_shift_px(pose(), left, 0.0)
    assert shift[0] < 0 and shift[1] == pytest.approx(0.0)


def test_positive_pitch_moves_irises_up():
    _, up = gaze.iris_travel_px(0.0, 10.0, 0.0, 0.0, 10.0)
    assert up > 0
    assert gaze.iris_shift_px(pose(), 0.0, up)[1] < 0  # image y grows downward


def test_frame_for_the_portraits_own_gaze_leaves_the_iris_alone():
    along, up = gaze.iris_travel_px(12.0, 0.0, 12.0, 0.0, 10.0)
    assert along == 0.0 and up == 0.0


def test_original_yaw_from_iris_offset():
    r = 5.0
    big_r = gaze.EYEBALL_PER_IRIS_RADIUS * r
    offset = big_r * math.sin(math.radians(10.0))
    assert gaze.original_yaw_deg([pose(offset, r), pose(offset, r)]) == pytest.approx(10.0)
    assert gaze.original_yaw_deg([pose(-offset, r), pose(-offset, r)]) == pytest.approx(-10.0)
    assert gaze.original_yaw_deg([pose(50.0, r)]) == gaze.MAX_ORIGINAL_YAW_DEG


def test_travel_is_monotonic_and_clamped_inside_the_opening():
    p = pose(radius=5.0, half_width=15.0)
    reach = 15.0 - gaze.CORNER_CLEARANCE_IRIS_RADII * 5.0
    travels = [
        gaze.clamp_travel(p, *gaze.iris_travel_px(y, 0.0, 0.0, 0.0, 30.0))[0]
        for y in np.linspace(-60, 60, 41)
    ]
    assert all(b >= a for a, b in zip(travels, travels[1:], strict=False))
    assert min(travels) == pytest.approx(-reach) and max(travels) == pytest.approx(reach)
    _, up = gaze.clamp_travel(p, 0.0, 100.0)
    assert up == pytest.approx(gaze.MAX_UP_IRIS_RADII * 5.0)
    _, down = gaze.clamp_travel(p, 0.0, -100.0)
    assert down == pytest.approx(-gaze.MAX_DOWN_IRIS_RADII * 5.0)


def test_an_iris_already_past_the_reach_may_stay_but_not_go_further():
    p = pose(offset_px=13.0, radius=5.0, half_width=15.0)
    assert gaze.clamp_travel(p, 3.0, 0.0)[0] == pytest.approx(0.0)
    assert gaze.clamp_travel(p, -4.0, 0.0)[0] == pytest.approx(-4.0)


def test_shift_follows_a_tilted_eye_axis():
    p = pose(tilt_deg=20.0)
    shift = gaze.iris_shift_px(p, 10.0, 0.0)
    assert shift == pytest.approx(10.0 * p.axis)
    assert p.normal[1] > 0 and float(np.dot(p.normal, p.axis)) == pytest.approx(0.0)
