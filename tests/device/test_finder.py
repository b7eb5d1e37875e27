"""The face finder on real photos: tiled search for far viewers, seams, tracking.

Scenes are package-shipped face photos placed on a 1280x720 room at the size a face has
at a given distance from a Camera Module 3 (66° field of view), see device/scenes.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from device import demo, optics, scenes
from device.detector import BlazeFaceDetector, FakeDetector
from device.errors import ModelError
from device.faces import Face
from device.finder import DetectionMode, FaceFinder
from device.gaze import GazeSettings
from device.models import model_path
from device.pipeline import GazePipeline
from device.search import SearchSettings, cut_by_seam

try:
    model_path("full_range")
    MODELS_PRESENT = True
except ModelError:
    MODELS_PRESENT = False
needs_models = pytest.mark.skipif(
    not MODELS_PRESENT, reason="models not fetched; run `python models/fetch_models.py`"
)
pytest.importorskip("skimage.data")
pytest.importorskip("matplotlib.cbook")

WIDTH, HEIGHT, FOV_DEG = 1280, 720, 66.0
HEAD_Y = 340  # a face centre inside the default head band (0.2..0.75 of 720 px)
FRONTAL = ["astronaut", "grace_hopper"]


@pytest.fixture(scope="module")
def detector():
    with BlazeFaceDetector("full_range") as d:
        yield d


@pytest.fixture(scope="module")
def room() -> np.ndarray:
    return demo.room_background((WIDTH, HEIGHT))


def scene(room: np.ndarray, photo: str, distance_m: float, centre_x: float, seed: int = 0):
    """A frame with `photo`'s face as wide as a face distance_m away; (frame, true box)."""
    p = scenes.PHOTOS[photo]
    width = optics.face_width_px(distance_m, WIDTH, FOV_DEG)
    rng = np.random.default_rng(seed)
    return scenes.place_face(room, p.load(), p.box_px, width, (centre_x, HEAD_Y), rng)


def only_match(faces, truth) -> Face:
    assert len(faces) == 1, faces
    assert scenes.matches(faces[0].box_px, truth), (faces[0].box_px, truth)
    return faces[0]


@needs_models
@pytest.mark.parametrize("photo", FRONTAL)
@pytest.mark.parametrize("centre_x", [200.0, 640.0, 1080.0])
def test_tiled_search_finds_a_far_face_the_whole_frame_pass_misses(
    detector, room, photo, centre_x
) -> None:
    frame, truth = scene(room, photo, 4.5, centre_x)  # a 33 px face
    assert not any(scenes.matches(f.box_px, truth) for f in detector.detect(frame))
    finding = FaceFinder(detector).search(frame)
    assert finding.mode is DetectionMode.SEARCH
    assert finding.regions_px[0] == (0, 0, WIDTH, HEIGHT) and len(finding.regions_px) == 5
    only_match(finding.faces, truth)


@needs_models
@pytest.mark.parametrize("photo", FRONTAL)
def test_a_face_in_the_overlap_of_two_tiles_is_found_once(detector, room, photo) -> None:
    finder = FaceFinder(detector)
    layout = finder.layout(WIDTH, HEIGHT)
    left, right = layout.tiles_px[:2]
    seam_centre = (right[0] + left[2]) / 2  # the middle of their overlap
    frame, truth = scene(room, photo, 3.0, seam_centre)
    # Both tiles really see it whole...
    for tile in (left, right):
        assert any(scenes.matches(f.box_px, truth) for f in detector.detect(frame, tile))
    # ... and the search reports it once.
    only_match(finder.search(frame).faces, truth)


@needs_models
@pytest.mark.parametrize("photo", FRONTAL)
def test_a_face_cut_by_a_tile_edge_is_found_once_from_the_tile_holding_it_whole(
    detector, room, photo
) -> None:
    finder = FaceFinder(detector)
    layout = finder.layout(WIDTH, HEIGHT)
    area = layout.tiled_area_px
    left, right = layout.tiles_px[:2]
    width = optics.face_width_px(2.0, WIDTH, FOV_DEG)
    # Centred 0.4 face widths right of the second tile's left edge: cut by it.
    frame, truth = scene(room, photo, 2.0, right[0] + 0.4 * width)
    cut = [f for f in detector.detect(frame, right) if cut_by_seam(f, right, area)]
    assert cut, "the second tile should see the cut face"
    assert any(
        scenes.matches(f.box_px, truth) and not cut_by_seam(f, left, area)
        for f in detector.detect(frame, left)
    )
    only_match(finder.search(frame).faces, truth)


@needs_models
def test_faces_far_and_near_in_one_frame_are_both_found(detector, room) -> None:
    frame, far = scene(room, "astronaut", 4.5, 300.0)
    p = scenes.PHOTOS["grace_hopper"]
    near_width = optics.face_width_px(0.8, WIDTH, FOV_DEG)
    frame, near = scenes.place_face(frame, p.load(), p.box_px, near_width, (900.0, 300.0))
    faces = FaceFinder(detector).search(frame).faces
    assert len(faces) == 2
    assert any(scenes.matches(f.box_px, far) for f in faces)
    assert any(scenes.matches(f.box_px, near) for f in faces)


@needs_models
@pytest.mark.parametrize("photo", FRONTAL)
def test_tracking_follows_a_face_across_the_frame_then_falls_back_to_search(
    detector, room, photo
) -> None:
    # A viewer 3 m away walks across the whole frame in 30 frames (1 s at 30 fps:
    # about 0.6 face widths per frame), then is gone.
    xs = np.linspace(100.0, 1180.0, 30)
    frames = [scene(room, photo, 3.0, float(x), seed=i) for i, x in enumerate(xs)]
    empty = demo.room_background((WIDTH, HEIGHT), seed=4)
    pipeline = GazePipeline(
        detector, (-20.0, 0.0, 20.0), GazeSettings(), idle_rate_hz=1.5, search=SearchSettings()
    )
    results = [pipeline.process(i / 30, frame) for i, (frame, _) in enumerate(frames)]
    assert [r.mode for r in results] == [DetectionMode.SEARCH] + [DetectionMode.TRACK] * 29
    for result, (_, truth) in zip(results, frames, strict=True):
        face = only_match(result.faces, truth)
        assert result.gaze.viewer is face
        if result.mode is DetectionMode.TRACK:
            (crop,) = result.regions_px
            assert crop[2] - crop[0] < WIDTH / 3  # a crop, not the frame
            x0, y0, x1, y1 = truth
            assert crop[0] <= x0 and crop[1] <= y0 and x1 <= crop[2] and y1 <= crop[3]
    # Gone: the track finds nothing, and the next frame searches the room again;
    # searches go on every frame until the viewer counts as lost, then at the idle rate.
    t = 30 / 30
    gone = [pipeline.process(t + i / 30, empty) for i in range(30)]
    assert gone[0].mode is DetectionMode.TRACK and gone[0].faces == ()
    assert all(r.mode is DetectionMode.SEARCH for r in gone[1:10])
    assert DetectionMode.IDLE in {r.mode for r in gone[20:]}
    assert all(r.faces == () for r in gone)
    assert pipeline.finder.following is None and not pipeline.viewer_present


def _face(cx: float, width: float = 40.0, score: float = 0.9) -> Face:
    x0, y0 = cx - width / 2, 300.0
    eyes = ((cx - 8, y0 + 15), (cx + 8, y0 + 15))
    return Face((x0, y0, x0 + width, y0 + width), eyes + ((cx, y0 + 25),) * 4, score)


def test_search_runs_the_whole_frame_then_each_tile_and_tracking_one_crop() -> None:
    frame = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    fake = FakeDetector(lambda image: [_face(600.0)])
    finder = FaceFinder(fake)
    searched = finder.search(frame)
    layout = finder.layout(WIDTH, HEIGHT)
    assert fake.regions == [None, *layout.tiles_px]
    assert searched.regions_px == layout.regions_px
    assert len(searched.faces) == 1  # seen by the whole frame and two tiles: merged
    finder.follow(searched.faces[0])
    tracked = finder.find(frame)
    assert tracked.mode is DetectionMode.TRACK
    assert fake.regions[-1] == tracked.regions_px[0] == (520, 240, 680, 400)
    finder.follow(None)
    assert finder.find(frame).mode is DetectionMode.SEARCH


def test_the_pipeline_follows_the_viewer_the_tracker_picks() -> None:
    frame = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    near, far = _face(300.0, width=80.0), _face(900.0, width=30.0)
    fake = FakeDetector(lambda image: [near, far])
    pipeline = GazePipeline(fake, (-20.0, 0.0, 20.0), GazeSettings(), idle_rate_hz=1.5)
    first = pipeline.process(0.0, frame)
    assert first.mode is DetectionMode.SEARCH and len(first.faces) == 2
    assert pipeline.finder.following is first.gaze.viewer
    assert first.gaze.viewer is not None and first.gaze.viewer.center_px[0] == 300.0
    second = pipeline.process(1 / 30, frame)
    assert second.mode is DetectionMode.TRACK
    assert second.faces == (near,)  # the crop around the nearer face holds only it


def test_an_empty_room_is_searched_at_the_idle_rate_only() -> None:
    frame = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    fake = FakeDetector(lambda image: [])
    pipeline = GazePipeline(fake, (-20.0, 0.0, 20.0), GazeSettings(), idle_rate_hz=2.0)
    modes = [pipeline.process(i / 30, frame).mode for i in range(60)]  # 2 s
    assert modes.count(DetectionMode.SEARCH) == 4
    assert modes.count(DetectionMode.IDLE) == 56
    assert len(fake.regions) == 4 * 5  # four searches of the whole frame + 4 tiles
