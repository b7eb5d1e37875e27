"""The head-turn warp: how far, which way, and a smooth field."""

from __future__ import annotations

import numpy as np
import pytest

from build_frames import headturn
from device.pack import PatchRect


def test_turn_is_zero_at_the_portraits_gaze_and_full_at_the_far_end():
    turn = lambda yaw: headturn.head_turn_for_yaw(yaw, 10.0, (-30.0, 30.0), 4.0)  # noqa: E731
    assert turn(10.0) == 0.0
    assert turn(-30.0) == pytest.approx(-4.0)  # 40° away: the far end
    assert turn(30.0) == pytest.approx(2.0)  # 20° away: half
    assert headturn.head_turn_for_yaw(20.0, 0.0, (-30.0, 30.0), 0.0) == 0.0


def test_nearer_points_move_further_in_the_turn_direction():
    mesh = np.array(
        [
            [100.0, 50.0, -40.0],  # nose tip: nearest
            [60.0, 50.0, 20.0],  # cheeks: further back
            [140.0, 50.0, 20.0],
        ]
    )
    shift = headturn.landmark_shift_px(mesh, 5.0, face_width_px=100.0)
    assert (shift > 0).all()  # positive turn: toward the image right
    assert shift[0] > shift[1] and shift[0] > shift[2]
    assert (headturn.landmark_shift_px(mesh, -5.0, 100.0) < 0).all()


def test_shift_field_is_constant_for_a_constant_shift_and_smooth():
    rng = np.random.default_rng(0)
    points = rng.uniform(20, 80, (50, 2))
    rect = PatchRect(0, 0, 100, 100)
    field = headturn.shift_field(points, np.full(50, 3.0), rect, sigma_px=8.0)
    assert field.shape == (100, 100)
    assert np.allclose(field, 3.0, atol=1e-3)
    ramp = headturn.shift_field(points, points[:, 0] / 10.0, rect, sigma_px=8.0)
    assert ramp[50, 70] > ramp[50, 30]
    assert np.abs(np.diff(ramp, axis=1)).max() < 0.5


def test_warp_by_a_constant_shift_is_a_translation():
    rng = np.random.default_rng(1)
    region = rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)
    out = headturn.warp_horizontal(region, np.full((40, 60), 3.0, np.float32))
    assert np.array_equal(out[:, 3:], region[:, :-3])
