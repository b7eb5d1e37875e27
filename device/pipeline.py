"""One camera frame in, one portrait frame index out: detection + gaze, at the right rate.

Shared by the service loop and `mona-frame simulate` so that what the simulator shows is
exactly what the frame on the wall does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from device.detector import Detector
from device.faces import Face
from device.gaze import GazeSettings, GazeState, GazeTracker


@dataclass(frozen=True)
class FrameResult:
    """What happened to one camera frame.

    detected: whether the detector ran on it (while the room is empty it runs only at
    the idle rate); faces: what it found (empty when it did not run); frame_index:
    the pack frame to show.
    """

    t_s: float
    detected: bool
    faces: tuple[Face, ...]
    gaze: GazeState
    frame_index: int


class GazePipeline:
    """Detector + GazeTracker; decides per frame whether detection is due."""

    def __init__(
        self,
        detector: Detector,
        yaw_table_deg: Sequence[float],
        settings: GazeSettings,
        idle_rate_hz: float,
        pitch_index: int = 0,
    ) -> None:
        self.detector = detector
        self.tracker = GazeTracker(yaw_table_deg, settings)
        self.idle_period_s = 1.0 / idle_rate_hz
        self.frame_offset = pitch_index * len(yaw_table_deg)
        self._last_detect_s: float | None = None
        self._state = GazeState(
            None, None, self.tracker.target_yaw_deg, self.tracker.yaw_index, math.inf
        )

    def detection_due(self, t_s: float) -> bool:
        """True while a viewer is in view; otherwise once per idle period."""
        if self.tracker.viewer_present or self._last_detect_s is None:
            return True
        return t_s - self._last_detect_s >= self.idle_period_s - 1e-6

    def seconds_until_due(self, t_s: float) -> float:
        if self.detection_due(t_s):
            return 0.0
        assert self._last_detect_s is not None
        return self._last_detect_s + self.idle_period_s - t_s

    def process(self, t_s: float, image_rgb: np.ndarray) -> FrameResult:
        """Handle the camera frame captured at `t_s` (seconds, monotonic)."""
        if not self.detection_due(t_s):
            return FrameResult(
                t_s, False, (), self._state, self.frame_offset + self._state.yaw_index
            )
        self._last_detect_s = t_s
        faces = tuple(self.detector.detect(image_rgb))
        self._state = self.tracker.update(t_s, faces, image_rgb.shape[1])
        return FrameResult(t_s, True, faces, self._state, self.frame_offset + self._state.yaw_index)

    @property
    def viewer_present(self) -> bool:
        return self.tracker.viewer_present
