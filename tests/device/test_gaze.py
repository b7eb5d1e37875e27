from __future__ import annotations

import math
import random

import pytest

from device.faces import Face, box_iou
from device.gaze import (
    GazeSettings,
    GazeTracker,
    OneEuroFilter,
    pick_viewer,
    pixel_to_yaw_deg,
    select_with_hysteresis,
    step_toward,
)

TABLE = tuple(float(a) for a in range(-30, 31, 5))  # 13 columns, 5° apart


def face_at(cx: float, cy: float = 240.0, size: float = 100.0, score: float = 0.9) -> Face:
    half = size / 2
    eyes = ((cx - size * 0.2, cy - size * 0.1), (cx + size * 0.2, cy - size * 0.1))
    rest = ((cx, cy), (cx, cy + size * 0.25), (cx - half, cy), (cx + half, cy))
    return Face((cx - half, cy - half, cx + half, cy + half), eyes + rest, score)


def test_box_iou_identical_disjoint_and_half():
    a = (0.0, 0.0, 10.0, 10.0)
    assert box_iou(a, a) == pytest.approx(1.0)
    assert box_iou(a, (20.0, 20.0, 30.0, 30.0)) == 0.0
    assert box_iou(a, (5.0, 0.0, 15.0, 10.0)) == pytest.approx(50 / 150)


def test_pick_viewer_takes_largest_when_no_previous():
    small, big = face_at(100, size=60), face_at(400, size=120)
    assert pick_viewer([small, big], None, 1.5) is big
    assert pick_viewer([], None, 1.5) is None


def test_pick_viewer_is_sticky_between_similar_faces():
    current = face_at(100, size=100)
    moved = face_at(104, size=100)
    slightly_bigger = face_at(400, size=110)  # 1.21x the area: not enough to steal attention
    assert pick_viewer([moved, slightly_bigger], current, 1.5) is moved


def test_pick_viewer_switches_to_a_much_nearer_face():
    current = face_at(100, size=100)
    much_bigger = face_at(400, size=130)  # 1.69x the area
    assert pick_viewer([face_at(102, size=100), much_bigger], current, 1.5) is much_bigger


def test_pick_viewer_forgets_a_viewer_who_left():
    gone = face_at(100, size=100)
    other = face_at(500, size=60)
    assert pick_viewer([other], gone, 1.5) is other


def test_pixel_to_yaw_centre_edges_and_sign_convention():
    assert pixel_to_yaw_deg(320, 640, 66.0, mirror=False) == pytest.approx(0.0)
    # The image's right edge is half the field of view away; unmirrored it is the frame's left.
    assert pixel_to_yaw_deg(640, 640, 66.0, mirror=False) == pytest.approx(-33.0)
    assert pixel_to_yaw_deg(0, 640, 66.0, mirror=False) == pytest.approx(33.0)
    assert pixel_to_yaw_deg(640, 640, 66.0, mirror=True) == pytest.approx(33.0)


def test_pixel_to_yaw_is_pinhole_not_linear():
    # A quarter of the way in is less than a quarter of the FOV: atan(0.5 tan 33°) ≈ 17.97°.
    expected = math.degrees(math.atan(0.5 * math.tan(math.radians(33.0))))
    assert pixel_to_yaw_deg(160, 640, 66.0, mirror=True) == pytest.approx(-expected)


def test_one_euro_smooths_jitter_and_follows_a_step():
    rng = random.Random(1)
    f = OneEuroFilter(min_cutoff_hz=0.5, beta=0.02, d_cutoff_hz=1.0)
    outs = [f(i / 30, 10.0 + rng.uniform(-1.0, 1.0)) for i in range(300)]
    tail = outs[100:]
    assert max(tail) - min(tail) < 0.8  # 2° of peak-to-peak input jitter: under 0.8° left
    for i in range(300, 400):
        last = f(i / 30, 25.0)
    assert last == pytest.approx(25.0, abs=0.5)


def test_one_euro_ignores_non_increasing_time():
    f = OneEuroFilter(1.0, 0.0, 1.0)
    f(1.0, 5.0)
    assert f(1.0, 50.0) == 5.0


def test_hysteresis_holds_near_a_boundary_and_moves_past_it():
    # Between -5 (index 5) and 0 (index 6) the midpoint is -2.5; hysteresis 0.35 of 5° = 1.75°.
    assert select_with_hysteresis(TABLE, 5, -2.4, 0.35) == 5
    assert select_with_hysteresis(TABLE, 5, -0.8, 0.35) == 5
    assert select_with_hysteresis(TABLE, 5, -0.7, 0.35) == 6
    assert select_with_hysteresis(TABLE, 6, -4.2, 0.35) == 6
    assert select_with_hysteresis(TABLE, 6, -4.3, 0.35) == 5


def test_hysteresis_jumps_several_steps_and_clamps():
    assert select_with_hysteresis(TABLE, 6, 21.0, 0.35) == 10
    assert select_with_hysteresis(TABLE, 6, 99.0, 0.35) == 12
    assert select_with_hysteresis(TABLE, 6, -99.0, 0.35) == 0


def test_zero_hysteresis_is_nearest():
    for angle in (-31.0, -12.4, 0.1, 17.6, 40.0):
        idx = select_with_hysteresis(TABLE, 6, angle, 0.0)
        assert idx == min(range(len(TABLE)), key=lambda i: abs(TABLE[i] - angle))


def test_step_toward():
    assert step_toward(10.0, 0.0, 3.0) == 7.0
    assert step_toward(-1.0, 0.0, 3.0) == 0.0
    assert step_toward(0.0, 0.0, 3.0) == 0.0


def test_tracker_follows_a_viewer_and_is_still_when_they_are():
    tracker = GazeTracker(TABLE, GazeSettings(horizontal_fov_deg=66.0))
    rng = random.Random(7)
    indices = []
    # Walk from the image's right (frame's left, negative yaw) to its left, then stand still.
    for i in range(240):
        x = 600 - 560 * min(i / 150, 1.0)
        jitter = rng.uniform(-2.0, 2.0)
        indices.append(tracker.update(i / 30, [face_at(x + jitter, size=90)], 640).yaw_index)
    walk, still = indices[:160], indices[180:]
    assert all(b >= a for a, b in zip(walk, walk[1:], strict=False))
    assert walk[0] <= 1 and still[-1] >= len(TABLE) - 2
    assert len(set(still)) == 1


def test_tracker_drifts_back_to_centre_when_nobody_is_there():
    settings = GazeSettings(return_to_centre_s=1.0, return_speed_deg_s=20.0, lost_after_s=0.5)
    tracker = GazeTracker(TABLE, settings)
    for i in range(30):
        state = tracker.update(i / 30, [face_at(40, size=90)], 640)
    assert state.yaw_index >= 11
    held = tracker.update(1.5, [], 640)  # 0.5 s after the last sighting: still looking there
    assert held.yaw_index == state.yaw_index
    assert not tracker.update(1.6, [], 640).viewer
    t, index = 1.6, state.yaw_index
    while t < 5.0:
        t += 1 / 30
        index = tracker.update(t, [], 640).yaw_index
    assert index == tracker.centre_index == 6


def test_tracker_jumps_to_a_new_arrival_without_lag():
    tracker = GazeTracker(TABLE, GazeSettings())
    state = tracker.update(0.0, [face_at(40, size=90)], 640)
    expected = pixel_to_yaw_deg(face_at(40, size=90).eye_midpoint_px[0], 640, 66.0, False)
    assert state.target_yaw_deg == pytest.approx(expected)
    assert state.viewer_yaw_deg == pytest.approx(expected)


def test_tick_drifts_without_a_detection_and_never_loses_a_present_viewer():
    settings = GazeSettings(lost_after_s=0.2, return_to_centre_s=0.5, return_speed_deg_s=10.0)
    tracker = GazeTracker((-20.0, 0.0, 20.0), settings)
    left = face_at(620.0, size=40.0)  # image right = the frame's left
    tracker.update(0.0, [left], 640)
    assert tracker.yaw_index == 0 and tracker.viewer_present
    assert tracker.tick(5.0).target_yaw_deg == tracker.target_yaw_deg  # viewer kept: no drift
    assert tracker.viewer_present
    tracker.update(5.0, [], 640)  # now gone
    assert not tracker.viewer_present
    start = tracker.target_yaw_deg
    state = tracker.tick(5.5)
    assert state.viewer is None and state.seconds_since_viewer == 5.5
    assert state.target_yaw_deg == start + 5.0  # 10°/s for 0.5 s, toward the centre
    assert not tracker.at_centre
    tracker.tick(20.0)
    assert tracker.at_centre and tracker.yaw_index == 1
