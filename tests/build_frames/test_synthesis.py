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
from device.pack import FramePack, load_pack

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
def edits(photo):
    synth = photo.synthesis()
    return synth, [synth.frame(yaw, 0.0) for yaw in YAWS]


@pytest.fixture(scope="module")
def frames(photo, edits):
    """The synthesized full frames, as made before packing."""
    synth, frame_edits = edits
    return synth, [packing.full_frame(photo.image, e) for e in frame_edits]


@pytest.fixture(scope="module")
def written(photo, edits, tmp_path_factory) -> FramePack:
    """The frames written by the build's own pack writer and read back by the device."""
    synth, frame_edits = edits
    out = tmp_path_factory.mktemp("pack") / "pack"
    fallback = geometry.rect_union([layer.rect for layer in synth.layers])
    prov = packing.provenance("eyes", photo.portrait, {"frames": len(YAWS)})
    packing.write_frames(out, photo.image, frame_edits, YAWS, (0.0,), fallback, prov, False)
    return load_pack(out)


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


def test_every_frame_equals_the_base_outside_the_patch(photo, frames, written):
    """The written pack's patch (not the rectangle the writer computed from the same
    edits) holds every change: outside it each synthesized frame is the base, bit for bit,
    and inside it the pack's patch is that frame."""
    synth, images = frames
    pack = written
    assert pack.n_frames == len(images) and pack.yaw_deg == tuple(YAWS)
    assert np.array_equal(pack.base, photo.image)
    outside = np.ones(photo.image.shape[:2], bool)
    outside[pack.patch.slices] = False
    assert outside.mean() > 0.9  # a small patch, so "outside" is most of the painting
    for index, image in enumerate(images):
        assert np.array_equal(image[outside], photo.image[outside]), index
        assert np.array_equal(pack.patches[index], image[pack.patch.slices]), index
        assert np.array_equal(pack.full_frame(index), image), index
    assert any(not np.array_equal(p, photo.image[pack.patch.slices]) for p in pack.patches)


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


# Sharpness check: the iris core (a disc this many iris radii less one px, so that the
# Laplacian's footprint stays clear of the moved iris's feathered edge) ...
SHARP_DISC_RADII = 0.875  # 1 - IRIS_EDGE_FEATHER_RADII / 2: inside the sprite's soft rim
# ... and pixels whose 4-neighbour Laplacian footprint is inside the eyelid opening in both
# frames: the lids do not move, so pixels beside them are not the iris's own.
MIN_SHARP_PIXELS = 5
# Eye-frame comparisons that must actually be made per photo (33 yaws, 2 eyes).
MIN_SHARP_CHECKS = 20


def test_iris_stays_as_sharp_as_the_original(photo, written):
    """Laplacian variance over the iris core, within 10% of the original's.

    The iris is located in each written frame by template matching (find_iris), not by
    the synthesis's own shift; the same iris-relative pixels are compared, those visible
    (clear of the lids) in both the original and the frame.
    """
    lap0 = cv2.Laplacian(grey(photo.image), cv2.CV_32F)
    opening_core = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    checks = 0
    for eye in photo.analysis.eyes:
        opening = geometry.polygon_mask(eye.opening_px, (0, 0), photo.image.shape[:2]) >= 1
        inner = cv2.erode(opening.astype(np.uint8), opening_core, iterations=2).astype(bool)
        radius = eye.iris_radius_px
        n = int(np.ceil(radius))
        dy, dx = np.mgrid[-n : n + 1, -n : n + 1]
        keep = dx**2 + dy**2 <= (SHARP_DISC_RADII * radius - 1) ** 2
        dx, dy = dx[keep], dy[keep]
        o = np.floor(eye.iris_centre_px).astype(int)
        lo = np.floor(eye.opening_px.min(axis=0) - 2 * radius).astype(int)
        hi = np.ceil(eye.opening_px.max(axis=0) + 2 * radius).astype(int)
        for index in range(written.n_frames):
            frame = written.full_frame(index)
            offset = find_iris(frame, photo.image, eye.iris_centre_px, radius, (*lo, *hi))
            c = o + np.round(offset).astype(int)
            if (c == o).all():
                continue  # not moved: the original's own pixels
            both = inner[o[1] + dy, o[0] + dx] & inner[c[1] + dy, c[0] + dx]
            if both.sum() < MIN_SHARP_PIXELS:
                continue  # the lids hide nearly all of the iris core
            lap = cv2.Laplacian(grey(frame), cv2.CV_32F)
            before = lap0[o[1] + dy[both], o[0] + dx[both]].var()
            after = lap[c[1] + dy[both], c[0] + dx[both]].var()
            assert 0.9 <= after / before <= 1.1, (eye.subject_side, YAWS[index], after / before)
            checks += 1
    assert checks >= MIN_SHARP_CHECKS


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
