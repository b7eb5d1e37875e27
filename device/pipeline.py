"""One camera frame in, one portrait frame index out: detection + gaze, at the right rate.

Shared by the service loop and `mona-frame simulate` so that what the simulator shows is
exactly what the frame on the wall does.

While nobody is in view the FaceFinder searches the room (the whole frame plus tiles
across the head-height band) at the idle rate only (frames in between only advance the
tracker's clock, so the drift back to the centre stays smooth); once the gaze tracker has a viewer,
every frame is detected, by tracking a crop around that viewer's face. A frame in which
the track finds no face sends the finder back to searching.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from device.blazeface import PixelRegion
from device.detector import Detector
from device.faces import Face
from device.finder import DetectionMode, FaceFinder
from device.gaze import GazeSettings, GazeState, GazeTracker
from device.search import SearchSettings


@dataclass(frozen=True)
class FrameResult:
    """What happened to one camera frame.

    mode: whether the detector searched, tracked, or did not run (idle: while the room
    is empty it runs only at the idle rate); faces: what it found, in frame px (empty
    when idle); regions_px: where it ran (the whole frame and the tiles, or the track
    crop); frame_index: the pack frame to show.
    """

    t_s: float
    mode: DetectionMode
    faces: tuple[Face, ...]
    gaze: GazeState
    frame_index: int
    regions_px: tuple[PixelRegion, ...] = ()

    @property
    def detected(self) -> bool:
        """Whether the detector ran on this frame."""
        return self.mode is not DetectionMode.IDLE


class GazePipeline:
    """FaceFinder + GazeTracker; decides per frame whether detection is due."""

    def __init__(
        self,
        detector: Detector,
        yaw_table_deg: Sequence[float],
        settings: GazeSettings,
        idle_rate_hz: float,
        pitch_index: int = 0,
        search: SearchSettings | None = None,
    ) -> None:
        self.detector = detector
        self.finder = FaceFinder(detector, search)
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
            # No detection on this frame, but time moves on: the drift back to the centre.
            self._state = self.tracker.tick(t_s)
            return FrameResult(
                t_s, DetectionMode.IDLE, (), self._state, self.frame_offset + self._state.yaw_index
            )
        self._last_detect_s = t_s
        finding = self.finder.find(image_rgb)
        # The gaze angle comes from the eye position in the whole frame, so the frame's
        # own width (and the camera's field of view) is what converts it, whatever crop
        # the detector ran on.
        self._state = self.tracker.update(t_s, finding.faces, image_rgb.shape[1])
        # Follow the viewer the tracker picked, if this frame found them; a frame that
        # found nobody sends the finder back to searching.
        self.finder.follow(self._state.viewer if finding.faces else None)
        return FrameResult(
            t_s,
            finding.mode,
            finding.faces,
            self._state,
            self.frame_offset + self._state.yaw_index,
            finding.regions_px,
        )

    @property
    def viewer_present(self) -> bool:
        return self.tracker.viewer_present

    @property
    def drifting(self) -> bool:
        """Nobody in view but the portrait not yet back at the centre: frames without
        detection still move it (see process), so they are worth taking."""
        return not self.tracker.viewer_present and not self.tracker.at_centre
