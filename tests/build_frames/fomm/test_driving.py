"""Driving videos: a real face photo (package-shipped) on a room background, still, moving
away, or absent; the clip gets one fixed crop or a one-line DrivingVideoError."""

from __future__ import annotations

import numpy as np
import pytest

from build_frames.errors import DrivingVideoError
from build_frames.fomm.driving import (
    CROP_MARGIN,
    CROP_SIZE_PX,
    SquareCrop,
    _kept_indices,
    fixed_crop,
    load_driving_clip,
)
from device import demo
from device.detector import BlazeFaceDetector
from device.errors import ModelError
from device.models import model_path

FPS = 30.0
SIZE = (480, 360)  # (w, h) px: small clips write and read fast
STILL = demo.ViewerPath(start_x=0.5, end_x=0.5, walk_s=1.0, still_s=0.4, face_width=0.3)
MIN_FRAMES = 20


@pytest.fixture(scope="module")
def detector():
    """BlazeFace short range; skips where the models are not fetched."""
    try:
        model_path("short_range")
    except ModelError:
        pytest.skip("models not fetched; run `python models/fetch_models.py`")
    with BlazeFaceDetector("short_range") as d:
        yield d


def write_clip(tmp_path, detector, path: demo.ViewerPath, name: str = "clip.mp4"):
    return demo.write_viewer_video(
        tmp_path / name, detector.detect, "astronaut", path, size=SIZE, fps=FPS
    )


def test_still_face_gives_one_fixed_square_crop_resized_to_256(tmp_path, detector):
    video = write_clip(tmp_path, detector, STILL)
    clip = load_driving_clip(video, detector.detect, min_frames=MIN_FRAMES)
    count = round(STILL.duration_s * FPS)
    assert clip.frames_rgb.shape == (count, CROP_SIZE_PX, CROP_SIZE_PX, 3)
    assert clip.frames_rgb.dtype == np.uint8
    assert clip.frame_index.tolist() == list(range(count))
    assert clip.fps == pytest.approx(FPS)
    # The face (0.3 of the width) with its margin: about 2× the face box, centred on it.
    face_px = STILL.face_width * SIZE[0]
    assert clip.crop.side == pytest.approx((1 + 2 * CROP_MARGIN) * face_px, rel=0.2)
    centre = clip.crop.x + clip.crop.side / 2, clip.crop.y + clip.crop.side / 2
    assert centre[0] == pytest.approx(STILL.x_at(0) * SIZE[0], abs=0.1 * face_px)
    assert centre[1] == pytest.approx(STILL.centre_y * SIZE[1], abs=0.2 * face_px)
    # The crop still holds a face, filling about half of it.
    faces = detector.detect(clip.frames_rgb[0])
    assert len(faces) == 1
    assert 0.35 < faces[0].width_px / CROP_SIZE_PX < 0.65


def test_long_clip_is_thinned_evenly_keeping_the_first_frame(tmp_path, detector):
    video = write_clip(tmp_path, detector, STILL)
    clip = load_driving_clip(video, detector.detect, min_frames=10, max_frames=15)
    assert len(clip.frames_rgb) == 15
    assert clip.frame_index[0] == 0 and clip.frame_index[-1] == round(STILL.duration_s * FPS) - 1


def test_face_free_clip_is_rejected(tmp_path, detector):
    nobody = demo.ViewerPath(start_x=5.0, end_x=5.0, walk_s=1.0, still_s=0.2)  # off-screen
    video = write_clip(tmp_path, detector, nobody)
    with pytest.raises(DrivingVideoError, match=r"no face found in any of its 36 frames"):
        load_driving_clip(video, detector.detect, min_frames=MIN_FRAMES)


def test_too_short_clip_is_rejected(tmp_path, detector):
    short = demo.ViewerPath(start_x=0.5, end_x=0.5, walk_s=0.2, still_s=0.1, face_width=0.3)
    video = write_clip(tmp_path, detector, short)
    with pytest.raises(DrivingVideoError, match=r"only 9 frames .* at least 20 needed"):
        load_driving_clip(video, detector.detect, min_frames=MIN_FRAMES)


def test_face_leaving_the_crop_is_rejected(tmp_path, detector):
    walk = demo.ViewerPath(start_x=0.7, end_x=0.3, walk_s=1.0, still_s=0.2, face_width=0.2)
    video = write_clip(tmp_path, detector, walk)
    with pytest.raises(DrivingVideoError, match=r"the face leaves the fixed crop .* at frame \d+"):
        load_driving_clip(video, detector.detect, min_frames=MIN_FRAMES)


def test_unreadable_or_missing_video_is_rejected(tmp_path, detector):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    with pytest.raises(DrivingVideoError, match="cannot open it as a video|no frames"):
        load_driving_clip(bad, detector.detect)
    with pytest.raises(DrivingVideoError, match="no such file"):
        load_driving_clip(tmp_path / "absent.mp4", detector.detect)


def test_fixed_crop_is_centred_on_the_range_of_face_positions():
    boxes = [(100.0, 100.0, 140.0, 140.0), (110.0, 102.0, 150.0, 142.0), (90.0, 98.0, 130.0, 138.0)]
    crop = fixed_crop(boxes, (640, 480), margin=0.5)
    assert crop == SquareCrop(x=80, y=80, side=80)  # centre (120, 120), side 2 × 40
    assert all(crop.contains(b) for b in boxes)


def test_fixed_crop_stays_inside_the_image():
    near_corner = [(0.0, 5.0, 40.0, 45.0)]
    assert fixed_crop(near_corner, (640, 480), margin=0.5) == SquareCrop(x=0, y=0, side=80)
    huge = [(0.0, 0.0, 400.0, 400.0)]
    assert fixed_crop(huge, (640, 480), margin=0.5) == SquareCrop(x=0, y=0, side=480)


def test_kept_indices():
    assert _kept_indices(3, 10, 100).tolist() == [3, 4, 5, 6, 7, 8, 9]
    assert _kept_indices(0, 101, 11).tolist() == list(range(0, 101, 10))
