"""Gaze maths: which face is the viewer, where they stand, and which frame looks at them.

Pure functions and small state machines; no camera, detector or display imports.

Yaw convention (the frame pack's): negative yaw = the portrait looks toward a viewer
standing to the LEFT of the frame as they face it. A camera on the frame facing the
room sees that viewer on the RIGHT of its unmirrored image, so an unmirrored camera's
image x grows as yaw falls.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from device.faces import Face, box_iou
from device.optics import focal_length_px

# Two detections of the same person in consecutive frames overlap far more than this.
SAME_PERSON_MIN_IOU = 0.3


def pick_viewer(faces: Sequence[Face], previous: Face | None, switch_ratio: float) -> Face | None:
    """The face the portrait should look at: the largest (nearest), but sticky.

    If the previous viewer is still there (the face overlapping its last box most),
    they keep the portrait's attention unless another face is `switch_ratio` times
    larger in area, so two similar viewers don't make the eyes hop between them.
    """
    if not faces:
        return None
    largest = max(faces, key=lambda f: f.area_px)
    if previous is None:
        return largest
    same = max(faces, key=lambda f: box_iou(f.box_px, previous.box_px))
    if box_iou(same.box_px, previous.box_px) < SAME_PERSON_MIN_IOU:
        return largest
    return largest if largest.area_px > switch_ratio * same.area_px else same


def pixel_to_yaw_deg(
    x_px: float, image_width_px: int, horizontal_fov_deg: float, mirror: bool
) -> float:
    """Horizontal angle (degrees, frame-pack yaw convention) of image column `x_px`.

    Pinhole camera: focal length f = (W/2) / tan(FOV/2) px; the ray through
    column x makes atan((x - W/2) / f) with the optical axis, positive to the image's
    right. Unmirrored, image-right is the frame's left (negative yaw).
    """
    focal_px = focal_length_px(image_width_px, horizontal_fov_deg)
    image_right_deg = math.degrees(math.atan((x_px - image_width_px / 2) / focal_px))
    return image_right_deg if mirror else -image_right_deg


class OneEuroFilter:
    """One-Euro filter (Casiez, Roussel & Vogel, CHI 2012) for a scalar signal.

    A low-pass whose cutoff rises with speed: a still viewer's jitter is smoothed
    hard (min_cutoff_hz), a moving viewer is followed with little lag (beta).
    """

    def __init__(self, min_cutoff_hz: float, beta: float, d_cutoff_hz: float) -> None:
        self.min_cutoff_hz = min_cutoff_hz
        self.beta = beta
        self.d_cutoff_hz = d_cutoff_hz
        self.reset()

    def reset(self) -> None:
        self._t: float | None = None
        self._x = 0.0
        self._dx = 0.0

    @staticmethod
    def _alpha(cutoff_hz: float, dt_s: float) -> float:
        tau = 1.0 / (2 * math.pi * cutoff_hz)
        return 1.0 / (1.0 + tau / dt_s)

    def __call__(self, t_s: float, x: float) -> float:
        if self._t is None:
            self._t, self._x, self._dx = t_s, x, 0.0
            return x
        dt = t_s - self._t
        if dt <= 0:
            return self._x
        dx = (x - self._x) / dt
        self._dx += self._alpha(self.d_cutoff_hz, dt) * (dx - self._dx)
        cutoff = self.min_cutoff_hz + self.beta * abs(self._dx)
        self._x += self._alpha(cutoff, dt) * (x - self._x)
        self._t = t_s
        return self._x


def nearest_index(angles_deg: Sequence[float], angle_deg: float) -> int:
    return min(range(len(angles_deg)), key=lambda i: abs(angles_deg[i] - angle_deg))


def select_with_hysteresis(
    angles_deg: Sequence[float], current: int, angle_deg: float, hysteresis: float
) -> int:
    """Index of the table angle to show for `angle_deg`, given the one shown now.

    The shown index changes only once the angle is past the midpoint between two
    table entries by `hysteresis` × that step, so an angle hovering at a boundary
    never makes the eyes flicker. `angles_deg` is ascending.
    """
    index = current
    while index + 1 < len(angles_deg):
        lo, hi = angles_deg[index], angles_deg[index + 1]
        if angle_deg > (lo + hi) / 2 + hysteresis * (hi - lo):
            index += 1
        else:
            break
    while index > 0:
        lo, hi = angles_deg[index - 1], angles_deg[index]
        if angle_deg < (lo + hi) / 2 - hysteresis * (hi - lo):
            index -= 1
        else:
            break
    return index


def step_toward(value: float, target: float, max_step: float) -> float:
    """`value` moved toward `target` by at most `max_step` (≥ 0)."""
    if abs(target - value) <= max_step:
        return target
    return value + math.copysign(max_step, target - value)


@dataclass(frozen=True)
class GazeSettings:
    """Tuning of GazeTracker; see the [gaze] section of the config for meanings."""

    horizontal_fov_deg: float = 66.0
    mirror: bool = False
    min_cutoff_hz: float = 0.5
    beta: float = 0.02
    d_cutoff_hz: float = 1.0
    hysteresis: float = 0.35
    switch_ratio: float = 1.5
    lost_after_s: float = 0.5
    return_to_centre_s: float = 3.0
    return_speed_deg_s: float = 20.0


@dataclass(frozen=True)
class GazeState:
    """What the tracker decided for one camera frame.

    viewer: the face being looked at (None if nobody is in view).
    viewer_yaw_deg: that face's raw angle; target_yaw_deg: the smoothed angle the
    portrait aims at; yaw_index: the chosen column of the pack's gaze table.
    """

    viewer: Face | None
    viewer_yaw_deg: float | None
    target_yaw_deg: float
    yaw_index: int
    seconds_since_viewer: float


class GazeTracker:
    """Turns a stream of face detections into the gaze-table column to show."""

    def __init__(self, yaw_table_deg: Sequence[float], settings: GazeSettings) -> None:
        self.table = tuple(yaw_table_deg)
        self.settings = settings
        self.filter = OneEuroFilter(settings.min_cutoff_hz, settings.beta, settings.d_cutoff_hz)
        self.centre_index = nearest_index(self.table, 0.0)
        self.yaw_index = self.centre_index
        self.target_yaw_deg = self.table[self.centre_index]
        self.viewer: Face | None = None
        self.last_seen_s: float | None = None
        self.last_t_s: float | None = None

    def update(self, t_s: float, faces: Sequence[Face], image_width_px: int) -> GazeState:
        """Feed the faces found in the frame captured at `t_s` (seconds, monotonic)."""
        s = self.settings
        dt = 0.0 if self.last_t_s is None else max(t_s - self.last_t_s, 0.0)
        self.last_t_s = t_s
        viewer = pick_viewer(faces, self.viewer, s.switch_ratio)
        viewer_yaw: float | None = None
        if viewer is not None:
            if self.viewer is None:
                self.filter.reset()  # a new arrival: aim at them at once, no smoothing lag
            self.viewer, self.last_seen_s = viewer, t_s
            viewer_yaw = pixel_to_yaw_deg(
                viewer.eye_midpoint_px[0], image_width_px, s.horizontal_fov_deg, s.mirror
            )
            self.target_yaw_deg = self.filter(t_s, viewer_yaw)
        else:
            if self._absent_s(t_s) > s.lost_after_s:
                self.viewer = None
            self._drift(t_s, dt)
        return self._state(t_s, viewer, viewer_yaw)

    def tick(self, t_s: float) -> GazeState:
        """Advance only the time-based state to `t_s` (seconds, monotonic), for a frame on
        which nothing was detected: once nobody is in view, the drift back to the centre
        goes on smoothly between the idle-rate searches instead of jumping at each one."""
        dt = 0.0 if self.last_t_s is None else max(t_s - self.last_t_s, 0.0)
        self.last_t_s = t_s
        if self.viewer is None:
            self._drift(t_s, dt)
        return self._state(t_s, None, None)

    @property
    def at_centre(self) -> bool:
        """Whether the portrait aims straight ahead (nothing left to drift)."""
        return self.target_yaw_deg == self.table[self.centre_index]

    def _absent_s(self, t_s: float) -> float:
        return math.inf if self.last_seen_s is None else t_s - self.last_seen_s

    def _drift(self, t_s: float, dt: float) -> None:
        """Once the viewer has been gone return_to_centre_s, turn toward the centre."""
        s = self.settings
        if self._absent_s(t_s) > s.return_to_centre_s:
            self.target_yaw_deg = step_toward(
                self.target_yaw_deg, self.table[self.centre_index], s.return_speed_deg_s * dt
            )

    def _state(self, t_s: float, viewer: Face | None, viewer_yaw: float | None) -> GazeState:
        self.yaw_index = select_with_hysteresis(
            self.table, self.yaw_index, self.target_yaw_deg, self.settings.hysteresis
        )
        return GazeState(
            viewer, viewer_yaw, self.target_yaw_deg, self.yaw_index, self._absent_s(t_s)
        )

    @property
    def viewer_present(self) -> bool:
        return self.viewer is not None
