"""GazePipeline: detection at the idle rate, and what frames without detection still do."""

from __future__ import annotations

import numpy as np

from device.detector import FakeDetector
from device.faces import Face
from device.finder import DetectionMode
from device.gaze import GazeSettings
from device.pipeline import GazePipeline

YAW = tuple(float(a) for a in np.linspace(-20.0, 20.0, 9))  # 5° steps
FPS = 30.0
WIDTH_PX = 640


def a_face_at(cx: float) -> Face:
    eyes = ((cx - 8, 200.0), (cx + 8, 200.0))
    return Face((cx - 20, 180.0, cx + 20, 240.0), eyes + ((cx, 210.0),) * 4, 0.9)


def test_the_drift_back_to_the_centre_moves_one_step_per_frame_between_searches() -> None:
    """Viewer at the far left, then an empty room at 30 fps with a search once a second:
    the frames in between advance the drift too, so the index never jumps."""
    image = np.zeros((360, WIDTH_PX, 3), np.uint8)
    viewer_frames = 10
    faces = [[a_face_at(WIDTH_PX - 30.0)]] * viewer_frames  # image right = frame's left
    settings = GazeSettings(lost_after_s=0.5, return_to_centre_s=1.0, return_speed_deg_s=20.0)
    pipeline = GazePipeline(FakeDetector(faces), YAW, settings, idle_rate_hz=1.0)
    indices, modes = [], []
    for n in range(int(6 * FPS)):
        result = pipeline.process(n / FPS, image)
        indices.append(result.frame_index)
        modes.append(result.mode)
    assert indices[viewer_frames - 1] == 0  # looked at the viewer on the far left
    assert modes.count(DetectionMode.IDLE) > 0.8 * len(modes)  # mostly no detection
    steps = [abs(b - a) for a, b in zip(indices, indices[1:], strict=False)]
    assert max(steps[viewer_frames:]) <= 1, indices
    assert indices[-1] == YAW.index(0.0)  # back at the centre
    assert not pipeline.drifting


def test_drifting_only_while_nobody_is_there_and_off_centre() -> None:
    image = np.zeros((360, WIDTH_PX, 3), np.uint8)
    there = [True]
    detector = FakeDetector(lambda image: [a_face_at(WIDTH_PX - 30.0)] if there[0] else [])
    pipeline = GazePipeline(detector, YAW, GazeSettings(), idle_rate_hz=1.0)
    assert not pipeline.drifting  # at the centre from the start
    pipeline.process(0.0, image)
    assert pipeline.viewer_present and not pipeline.drifting
    there[0] = False
    pipeline.process(1.0, image)  # nobody: the viewer is lost, the portrait still aside
    assert not pipeline.viewer_present and pipeline.drifting
