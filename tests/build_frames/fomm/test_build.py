"""Pieces of the fomm build flow that the end-to-end test does not reach: the error when no
frame's eyes can be measured, the streamed checksum and the head crop's scale."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

pytest.importorskip("torch")

from build_frames.errors import DrivingVideoError  # noqa: E402
from build_frames.fomm import build, driving  # noqa: E402
from build_frames.image_io import read_portrait  # noqa: E402
from build_frames.landmarks import LandmarkModels  # noqa: E402
from device.detector import BlazeFaceDetector  # noqa: E402


def test_no_measurable_eyes_anywhere_is_one_line(bf_models):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (4, 256, 256, 3), dtype=np.uint8)
    with BlazeFaceDetector("short_range") as detector, LandmarkModels() as models:
        with pytest.raises(DrivingVideoError) as exc_info:
            build.choose_frames(noise, noise, detector.detect, models, 3, show=False)
    message = str(exc_info.value)
    assert "\n" not in message
    assert "measured in 0 of 4 generated heads and 0 driving frames, 3 needed" in message


def test_sha256_file_streams_the_same_digest(tmp_path):
    data = np.random.default_rng(2).bytes(3 * build.HASH_CHUNK_BYTES + 17)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    assert build.sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_portrait_head_crop_has_the_driving_margin(bf_models):
    pytest.importorskip("skimage")
    head = build.portrait_head(read_portrait("builtin:astronaut"), None)
    assert head.source_rgb.shape == (driving.CROP_SIZE_PX, driving.CROP_SIZE_PX, 3)
    face_side = max(head.face.width_px, head.face.height_px)
    assert head.crop.side == pytest.approx((1 + 2 * driving.CROP_MARGIN) * face_side, abs=1)
    cx, cy = head.face.center_px
    assert head.crop.x + head.crop.side / 2 == pytest.approx(cx, abs=1)
    assert head.crop.y + head.crop.side / 2 == pytest.approx(cy, abs=1)
