"""Acceptance: a real face photo walks past the camera; the portrait follows, then holds still."""

from __future__ import annotations

import json

import numpy as np
import pytest

from device import demo
from device.detector import BlazeFaceDetector
from device.gaze import GazeSettings
from device.pack import PatchRect, load_pack, write_pack
from device.pipeline import GazePipeline
from device.simulate import simulate

YAW = tuple(float(a) for a in np.linspace(-20.0, 20.0, 9))
FPS = 30.0
WALK = demo.ViewerPath(start_x=0.85, end_x=0.15, walk_s=4.0, still_s=3.0, face_width=0.16)
# After the walk stops, the smoothing filter needs a moment to catch up; after this it must hold.
SETTLE_S = 1.0


@pytest.fixture(scope="module")
def detector():
    with BlazeFaceDetector("short_range") as d:
        yield d


def numbered_pack(tmp_path):
    base = np.full((200, 160, 3), 90, np.uint8)
    patches = [np.full((40, 40, 3), 20 * i, np.uint8) for i in range(len(YAW))]
    return load_pack(write_pack(tmp_path / "pack", base, PatchRect(60, 40, 40, 40), patches, YAW))


@pytest.mark.parametrize("photo", ["astronaut", "grace_hopper"])
def test_walking_viewer_sweeps_the_frames_and_a_still_one_causes_no_flicker(
    tmp_path, detector, photo
):
    video = demo.write_viewer_video(tmp_path / "viewer.mp4", detector.detect, photo, WALK, fps=FPS)
    pack = numbered_pack(tmp_path)
    pipeline = GazePipeline(
        detector, pack.yaw_deg, GazeSettings(horizontal_fov_deg=66.0), idle_rate_hz=4.0
    )
    summary = simulate(
        video, pack, pipeline, tmp_path / "sim.mp4", tmp_path / "trace.jsonl", progress=False
    )
    records = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]

    assert summary.frames == len(records) == round(WALK.duration_s * FPS)
    # The viewer is found in every frame (so the detector runs at full rate).
    assert all(r["detected"] and r["viewer"] is not None for r in records)
    indices = [r["frame_index"] for r in records]
    # Walking from the camera image's right to its left = from the frame's left to its right.
    assert indices[0] == 0
    assert indices[-1] == len(YAW) - 1
    assert all(b >= a for a, b in zip(indices, indices[1:], strict=False)), indices
    settled = [r["frame_index"] for r in records if r["t"] >= WALK.walk_s + SETTLE_S]
    assert len(settled) >= 45 and len(set(settled)) == 1
    assert (tmp_path / "sim.mp4").stat().st_size > 10_000


def test_trace_reports_box_eyes_and_angle_where_the_face_is(tmp_path, detector):
    video = demo.write_viewer_video(
        tmp_path / "viewer.mp4", detector.detect, "astronaut", WALK, fps=FPS
    )
    pack = numbered_pack(tmp_path)
    pipeline = GazePipeline(detector, pack.yaw_deg, GazeSettings(), idle_rate_hz=4.0)
    simulate(video, pack, pipeline, tmp_path / "sim.mp4", tmp_path / "trace.jsonl", progress=False)
    first = json.loads((tmp_path / "trace.jsonl").read_text().splitlines()[0])
    face = first["faces"][first["viewer"]]
    x0, y0, x1, y1 = face["box"]
    expected_cx = WALK.start_x * demo.DEMO_VIDEO_SIZE[0]
    assert abs((x0 + x1) / 2 - expected_cx) < 0.05 * demo.DEMO_VIDEO_SIZE[0]
    (rx, ry), (lx, ly) = face["eyes"]
    assert x0 < rx < lx < x1 and y0 < ry < (y0 + y1) / 2
    assert first["viewer_yaw_deg"] < -15.0  # image right = the frame's left = negative yaw
