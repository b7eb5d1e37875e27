"""Acceptance on real photos: the irises move as asked, and nothing else moves.

The iris position is measured independently of the code that moved it: the original
iris (a square of its centre) is found in each frame by normalised cross-correlation.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from build_frames import gaze, geometry, packing, synthesis
from build_frames.errors import OptionError

YAWS = synthesis.gaze_table(33, (-30, 30)).yaw_deg


def grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)


def find_iris(
    frame: np.ndarray,
    original: np.ndarray,
    centre: np.ndarray,
    radius: float,
    search: tuple[int, int, int, int],
) -> np.ndarray:
    """Where the original's iris core (a square 0.7 r wide: at the extremes the lids hide
    the rest) is in `frame`: its offset (px)."""
    half = max(2, int(round(0.35 * radius)))
    cx, cy = (int(np.floor(v)) for v in centre)
    template = grey(original)[cy - half : cy + half + 1, cx - half : cx + half + 1]
    x0, y0, x1, y1 = search
    score = cv2.matchTemplate(grey(frame)[y0:y1, x0:x1], template, cv2.TM_CCOEFF_NORMED)
    y, x = np.unravel_index(int(np.argmax(score)), score.shape)

    def vertex(a: float, b: float, c: float) -> float:  # sub-pixel peak of a parabola
        den = a - 2 * b + c
        return 0.5 * (a - c) / den if den else 0.0

    dx = vertex(*score[y, x - 1 : x + 2]) if 0 < x < score.shape[1] - 1 else 0.0
    dy = vertex(*score[y - 1 : y + 2, x]) if 0 < y < score.shape[0] - 1 else 0.0
    return np.array([x0 + x + dx + half - cx, y0 + y + dy + half - cy])


@pytest.fixture(scope="module")
def frames(photo):
    synth = photo.synthesis()
    return synth, [packing.full_frame(photo.image, synth.frame(yaw, 0.0)) for yaw in YAWS]


def predicted_travel(synth, layer, yaw: float) -> float:
    travel = gaze.iris_travel_px(yaw, 0.0, synth.original_yaw_deg, 0.0, synth.eyeball_radius_px)
    return gaze.clamp_travel(layer.pose, *travel)[0]


def test_iris_moves_monotonically_with_yaw_and_spans_the_range(photo, frames):
    synth, images = frames
    for layer, eye in zip(synth.layers, photo.analysis.eyes, strict=True):
        r = layer.rect
        search = (r.x, r.y, r.x + r.width, r.y + r.height)
        along = np.array(
            [
                find_iris(f, photo.image, eye.iris_centre_px, eye.iris_radius_px, search)
                @ layer.pose.axis
                for f in images
            ]
        )
        assert (np.diff(along) > -0.3).all(), along  # monotonic, within sub-pixel noise
        for index in (0, len(YAWS) // 2, -1):
            expected = predicted_travel(synth, layer, YAWS[index])
            assert along[index] == pytest.approx(expected, abs=max(1.0, 0.15 * abs(expected)))
        # -30° looks toward the image's left, +30° toward its right, by about one iris radius
        assert along[0] < -0.7 * eye.iris_radius_px and along[-1] > 0.7 * eye.iris_radius_px


def test_every_frame_equals_the_base_outside_the_patch(photo, frames):
    synth, images = frames
    edits = [synth.frame(yaw, 0.0) for yaw in YAWS]
    patch = packing.changed_rect(photo.image, edits)
    assert patch is not None
    outside = np.ones(photo.image.shape[:2], bool)
    outside[patch.slices] = False
    for image in images:
        assert np.array_equal(image[outside], photo.image[outside])


def test_without_head_turn_only_the_eye_openings_neighbourhood_changes(photo, frames):
    synth, images = frames
    near = np.zeros(photo.image.shape[:2], bool)
    for eye in photo.analysis.eyes:
        lo = eye.opening_px.min(axis=0) - 1.5 * eye.iris_radius_px
        hi = eye.opening_px.max(axis=0) + 1.5 * eye.iris_radius_px
        rect = geometry.rect_from_bounds(*lo, *hi, (photo.image.shape[1], photo.image.shape[0]))
        near[rect.slices] = True
    for image in images:
        changed = (image != photo.image).any(axis=2)
        assert not (changed & ~near).any()
    assert any((image != photo.image).any() for image in images)


def test_iris_stays_as_sharp_as_the_original(photo, frames):
    """Laplacian variance over the same iris pixels, before and after: within 10%."""
    synth, images = frames
    lap0 = cv2.Laplacian(grey(photo.image), cv2.CV_32F)
    for layer, eye in zip(synth.layers, photo.analysis.eyes, strict=True):
        opening = geometry.polygon_mask(eye.opening_px, (0, 0), photo.image.shape[:2]) >= 1
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        inner = cv2.erode(opening.astype(np.uint8), kernel).astype(bool)
        for yaw, image in zip(YAWS, images, strict=True):
            along = predicted_travel(synth, layer, yaw)
            dx, dy = np.round(gaze.iris_shift_px(layer.pose, along, 0.0)).astype(int)
            disc = (
                geometry.disc_mask(
                    tuple(eye.iris_centre_px),
                    0.8 * eye.iris_radius_px,
                    1.0,
                    (0, 0),
                    photo.image.shape[:2],
                )
                >= 1
            )
            before = disc & inner & np.roll(inner, (-dy, -dx), axis=(0, 1))
            # the Laplacian's 3x3 footprint must stay on iris pixels
            before = cv2.erode(before.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
            after = np.roll(before, (dy, dx), axis=(0, 1))
            if before.sum() < 6:
                continue
            lap = cv2.Laplacian(grey(image), cv2.CV_32F)
            assert lap[after].var() == pytest.approx(lap0[before].var(), rel=0.10)


def test_head_turn_moves_the_nose_with_the_gaze_and_stays_inside_the_blend(grace_hopper):
    synth = grace_hopper.synthesis(head_turn_deg=4.0)
    image = grace_hopper.image
    nose = grace_hopper.analysis.mesh_px[4, :2]  # mesh point 4: the nose tip
    region = synth.region
    shifts = []
    for yaw in (-30.0, 30.0):
        edits = synth.frame(yaw, 0.0)
        assert [rect for rect, _ in edits] == [region]
        frame = packing.full_frame(image, edits)
        outside = np.ones(image.shape[:2], bool)
        outside[region.slices] = False
        assert np.array_equal(frame[outside], image[outside])
        search = tuple(int(v) for v in (nose[0] - 40, nose[1] - 40, nose[0] + 40, nose[1] + 40))
        shifts.append(find_iris(frame, image, nose, 20.0, search)[0])
    assert shifts[0] < -1.0 and shifts[1] > 1.0
    at_rest = packing.full_frame(image, synth.frame(synth.original_yaw_deg, 0.0))
    assert np.array_equal(at_rest, image)


def test_gaze_table_defaults_and_bad_values():
    table = synthesis.gaze_table(33, (-30, 30))
    assert table.n_frames == 33 and table.yaw_deg[0] == -30 and table.yaw_deg[16] == 0
    assert table.pitch_deg == (0.0,)
    grid = synthesis.gaze_table(3, (-10, 10), (-6, 6), 3)
    assert grid.pitch_deg == (-6.0, 0.0, 6.0) and list(grid.cells())[3] == (-10.0, 0.0)
    with pytest.raises(OptionError, match="--frames 1: a pack needs at least 2"):
        synthesis.gaze_table(1, (-30, 30))
    with pytest.raises(OptionError, match="--yaw-range 30 -30: the first angle must be below"):
        synthesis.gaze_table(5, (30, -30))
    with pytest.raises(OptionError, match="--pitch-range 0 0 with --pitch-rows 3"):
        synthesis.gaze_table(5, (-30, 30), (0, 0), 3)
    with pytest.raises(OptionError, match="within -90..90"):
        synthesis.gaze_table(5, (-100, 30))


def test_head_turn_limit(grace_hopper):
    with pytest.raises(OptionError, match="--head-turn 12: a subtle turn is 0 to 8 degrees"):
        grace_hopper.synthesis(head_turn_deg=12.0)
    with pytest.raises(OptionError, match="--head-turn -2: a subtle turn is 0 to 8 degrees"):
        grace_hopper.synthesis(head_turn_deg=-2.0)


def dark_centroid_y(frame: np.ndarray, eye) -> float:
    """Darkness-weighted mean row (px) inside an eye's opening: the iris is its darkest part."""
    inside = geometry.polygon_mask(eye.opening_px, (0, 0), frame.shape[:2]) >= 1
    g = grey(frame)
    weight = np.clip(np.percentile(g[inside], 50) - g, 0, None) * inside
    rows = np.arange(frame.shape[0], dtype=float)[:, None]
    return float((weight * rows).sum() / weight.sum())


def test_pitch_moves_the_iris_up_and_down(grace_hopper):
    synth = grace_hopper.synthesis()
    image = grace_hopper.image
    yaw = synth.original_yaw_deg
    level = packing.full_frame(image, synth.frame(yaw, 0.0))
    down = packing.full_frame(image, synth.frame(yaw, -15.0))
    up = packing.full_frame(image, synth.frame(yaw, 15.0))
    for layer, eye in zip(synth.layers, grace_hopper.analysis.eyes, strict=True):
        r = layer.rect
        search = (r.x, r.y, r.x + r.width, r.y + r.height)
        still = find_iris(level, image, eye.iris_centre_px, eye.iris_radius_px, search)
        assert np.abs(still).max() < 0.5
        # the lids (which do not move) hide the iris's core as it goes up or down, so
        # follow the dark iris rather than its texture
        assert dark_centroid_y(up, eye) < dark_centroid_y(level, eye) - 0.3
        assert dark_centroid_y(down, eye) > dark_centroid_y(level, eye) + 0.3
