"""Choosing frames by gaze: the measurement follows the pack's yaw convention, and the pick
spreads evenly from the leftmost to the rightmost gaze whatever order the driver looked."""

from __future__ import annotations

import numpy as np
import pytest

from build_frames import packing
from build_frames.fomm import driving
from build_frames.fomm.frame_choice import choose, measure_gaze_deg, pick_spread
from build_frames.landmarks import LandmarkModels
from device.detector import BlazeFaceDetector


@pytest.fixture(scope="module")
def measure(bf_models):
    with BlazeFaceDetector("short_range") as detector, LandmarkModels() as models:
        yield lambda image: measure_gaze_deg(image, detector.detect, models)


def test_measured_gaze_follows_the_packs_yaw_convention(astronaut, measure):
    """The astronaut made to look from -30 to +30 degrees by the eyes method (negative:
    irises toward the image's left), cut and resized as FOMM's source: the measured gaze
    ascends with yaw, and a mirrored head measures the opposite way."""
    synth = astronaut.synthesis()
    face = astronaut.analysis.face
    crop = driving.fixed_crop([face.box_px], astronaut.portrait.size, driving.CROP_MARGIN)
    measured, mirrored = [], []
    for yaw in (-30.0, -15.0, 0.0, 15.0, 30.0):
        frame = packing.full_frame(astronaut.image, synth.frame(yaw, 0.0))
        head = driving.crop_frame(frame, crop, driving.CROP_SIZE_PX)
        measured.append(measure(head))
        mirrored.append(measure(np.ascontiguousarray(head[:, ::-1])))
    assert None not in measured and None not in mirrored
    assert measured == sorted(measured) and measured[-1] - measured[0] > 20
    assert mirrored == sorted(mirrored, reverse=True)
    assert np.allclose(mirrored, [-g for g in measured], atol=5.0)


def test_noise_has_no_measurable_eyes(measure):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    assert measure(noise) is None
    assert measure(np.full((256, 256, 3), 128, np.uint8)) is None


def test_pick_spread_takes_the_ends_and_the_gazes_nearest_even_steps():
    assert pick_spread([0.0, 1.0, 2.0, 3.0, 4.0], 5) == [0, 1, 2, 3, 4]
    assert pick_spread([0.0, 1.0, 2.0, 3.0, 4.0], 3) == [0, 2, 4]
    # Left, right, then left again: ordered by gaze, not by time.
    assert pick_spread([-10.0, 0.0, 10.0, 0.5, -9.0], 3) == [0, 1, 2]
    # A driver lingering on the left: still one frame near the middle, not three lefts.
    lingering = [-10.0, -9.9, -9.8, -9.7, -9.6, 1.0, 10.0]
    assert pick_spread(lingering, 3) == [0, 5, 6]


def test_pick_spread_never_repeats_a_frame():
    assert pick_spread([3.0, 3.0, 3.0, 3.0], 3) == [0, 1, 3]  # ties keep the input order
    assert pick_spread([0.0, 0.1, 0.2, 0.3, 10.0], 3) == [0, 3, 4]
    rng = np.random.default_rng(1)
    for _ in range(50):
        gaze = rng.normal(0.0, 10.0, int(rng.integers(5, 60))).tolist()
        count = int(rng.integers(2, len(gaze) + 1))
        picks = pick_spread(gaze, count)
        values = [gaze[i] for i in picks]
        assert len(set(picks)) == count
        assert values == sorted(values)
        assert values[0] == min(gaze) and values[-1] == max(gaze)


def test_pick_spread_needs_enough_frames():
    with pytest.raises(ValueError, match="count"):
        pick_spread([1.0, 2.0], 3)
    with pytest.raises(ValueError, match="count"):
        pick_spread([1.0, 2.0], 1)


def test_choose_skips_unmeasured_frames():
    gaze = [None, 5.0, -5.0, None, 0.2, 1.0]
    choice = choose(gaze, 3, "generated heads")
    assert choice.indices == (2, 4, 1)
    assert choice.picked_gaze_deg == (-5.0, 0.2, 5.0)
    assert choice.targets_deg == (-5.0, 0.0, 5.0)
    assert choice.n_measured == 4 and choice.span_deg == 10.0
