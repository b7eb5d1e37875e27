"""BlazeFaceDetector on real photos shipped with scikit-image and matplotlib; FakeDetector.

Ground truth was read by hand off zoomed, gridded crops of the photos: face box from
hairline/brow to chin and cheek to cheek, eyes at the pupils.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from device import tflite
from device.detector import BlazeFaceDetector, FakeDetector
from device.errors import ModelError
from device.faces import Face, FaceKeypoint
from device.models import model_path

skimage_data = pytest.importorskip("skimage.data")
cbook = pytest.importorskip("matplotlib.cbook")

try:
    model_path("short_range")
    model_path("full_range")
    MODELS_PRESENT = True
except ModelError:
    MODELS_PRESENT = False
needs_models = pytest.mark.skipif(
    not MODELS_PRESENT, reason="models not fetched; run `python models/fetch_models.py`"
)

DETECTOR_MODELS = ["short_range", "full_range"]


@dataclass(frozen=True)
class Truth:
    """Hand-measured face in one photo, source px."""

    box_px: tuple[float, float, float, float]
    right_eye_px: tuple[float, float]  # the subject's right: the image's left
    left_eye_px: tuple[float, float]

    def shifted(self, dx: float, dy: float) -> Truth:
        x0, y0, x1, y1 = self.box_px
        return Truth(
            (x0 + dx, y0 + dy, x1 + dx, y1 + dy),
            (self.right_eye_px[0] + dx, self.right_eye_px[1] + dy),
            (self.left_eye_px[0] + dx, self.left_eye_px[1] + dy),
        )


ASTRONAUT_TRUTH = Truth(box_px=(180, 80, 270, 180), right_eye_px=(203, 102),
                        left_eye_px=(246, 103))
GRACE_HOPPER_TRUTH = Truth(box_px=(165, 145, 365, 340), right_eye_px=(222, 191),
                           left_eye_px=(306, 188))


def astronaut() -> np.ndarray:
    return np.ascontiguousarray(skimage_data.astronaut())


def grace_hopper() -> np.ndarray:
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    image_bgr = cv2.imread(str(path))
    assert image_bgr is not None, path
    return np.ascontiguousarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))


def crop(image: np.ndarray, truth: Truth, y0: int, y1: int, x0: int, x1: int):
    return np.ascontiguousarray(image[y0:y1, x0:x1]), truth.shifted(-x0, -y0)


def pad(image: np.ndarray, truth: Truth, top: int, bottom: int, left: int, right: int):
    padded = np.pad(image, ((top, bottom), (left, right), (0, 0)), constant_values=128)
    return padded, truth.shifted(left, top)


def photo_cases() -> dict[str, tuple[np.ndarray, Truth]]:
    ast, gh = astronaut(), grace_hopper()
    return {
        "astronaut 512x512": (ast, ASTRONAUT_TRUTH),
        "grace_hopper 512x600": (gh, GRACE_HOPPER_TRUTH),
        "astronaut wide crop": crop(ast, ASTRONAUT_TRUTH, 0, 300, 60, 460),
        "astronaut tall pad": pad(ast, ASTRONAUT_TRUTH, 100, 60, 0, 0),
        "astronaut in 640x480": pad(ast[:480], ASTRONAUT_TRUTH, 0, 0, 64, 64),
        "grace_hopper wide pad": pad(gh, GRACE_HOPPER_TRUTH, 0, 0, 150, 50),
        "grace_hopper tall crop": crop(gh, GRACE_HOPPER_TRUTH, 100, 420, 150, 380),
    }


CASES = photo_cases()


def assert_matches(face: Face, truth: Truth) -> None:
    width = truth.box_px[2] - truth.box_px[0]
    # Box edges within 20 % of the face width (the full-range model draws its box ~10 %
    # higher than the short-range one); eyes within 10 %.
    np.testing.assert_allclose(face.box_px, truth.box_px, atol=0.2 * width)
    right_eye = np.array(face.keypoints_px[FaceKeypoint.RIGHT_EYE])
    left_eye = np.array(face.keypoints_px[FaceKeypoint.LEFT_EYE])
    np.testing.assert_allclose(right_eye, truth.right_eye_px, atol=0.1 * width)
    np.testing.assert_allclose(left_eye, truth.left_eye_px, atol=0.1 * width)
    assert right_eye[0] < left_eye[0], "subject's right eye should be on the image's left"
    x_min, y_min, x_max, y_max = face.box_px
    for x, y in (right_eye, left_eye):
        assert x_min < x < x_max
        assert y_min < y < (y_min + y_max) / 2, "eyes belong in the box's upper half"


@needs_models
@pytest.mark.parametrize("model", DETECTOR_MODELS)
@pytest.mark.parametrize("case", list(CASES))
def test_finds_the_one_face_in_a_photo(model: str, case: str) -> None:
    image, truth = CASES[case]
    with BlazeFaceDetector(model) as detector:
        faces = detector.detect(image)
    assert len(faces) == 1, faces
    assert 0.5 <= faces[0].score <= 1.0
    assert_matches(faces[0], truth)


def face_free_images() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1234)
    return {
        "coffee": skimage_data.coffee(),
        "brick": np.ascontiguousarray(np.dstack([skimage_data.brick()] * 3)),
        "noise 640x480": rng.integers(0, 256, (480, 640, 3), dtype=np.uint8),
        "black 640x480": np.zeros((480, 640, 3), np.uint8),
    }


@needs_models
@pytest.mark.parametrize("model", DETECTOR_MODELS)
def test_finds_nothing_without_faces(model: str) -> None:
    with BlazeFaceDetector(model) as detector:
        for name, image in face_free_images().items():
            assert detector.detect(image) == [], name


@needs_models
def test_faces_are_sorted_by_score_for_two_people() -> None:
    side_by_side = np.concatenate([astronaut(), grace_hopper()[:512]], axis=1)
    with BlazeFaceDetector("full_range") as detector:
        faces = detector.detect(side_by_side)
    assert len(faces) == 2
    assert faces[0].score >= faces[1].score
    centres_x = sorted(face.center_px[0] for face in faces)
    assert centres_x[0] < 512 < centres_x[1]


@needs_models
def test_invoke_is_timed_and_close_is_final() -> None:
    detector = BlazeFaceDetector("short_range", num_threads=2)
    with detector:
        assert detector.model_path.name == "face_detection_short_range.tflite"
        detector.detect(astronaut())
        assert detector.invoke_seconds > 0.0
        detector.invoke_seconds = 0.0
        detector.invoke()
        assert detector.invoke_seconds > 0.0
    with pytest.raises(RuntimeError, match="after close"):
        detector.detect(astronaut())


@needs_models
@pytest.mark.parametrize("model", DETECTOR_MODELS)
def test_a_region_finds_the_face_in_frame_pixels(model: str) -> None:
    frame, truth = pad(astronaut(), ASTRONAUT_TRUTH, 100, 108, 300, 468)  # 1280x720
    region = (380, 100, 780, 500)  # a 400 px square around the face
    crop = np.ascontiguousarray(frame[100:500, 380:780])
    with BlazeFaceDetector(model) as detector:
        in_region = detector.detect(frame, region)
        in_copy = detector.detect(crop)
        assert detector.detect(frame, (900, 100, 1280, 500)) == []  # nobody there
    assert len(in_region) == len(in_copy) == 1
    assert_matches(in_region[0], truth)
    np.testing.assert_allclose(
        in_region[0].box_px, np.array(in_copy[0].box_px) + [380, 100, 380, 100], atol=1e-6
    )


@needs_models
def test_rejects_a_grey_image() -> None:
    with BlazeFaceDetector() as detector, pytest.raises(ValueError, match="uint8 RGB"):
        detector.detect(np.zeros((48, 64), np.uint8))


def test_unknown_or_non_detector_model_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="'iris_landmark' is not a face detector"):
        BlazeFaceDetector("iris_landmark")
    with pytest.raises(ModelError, match="num_threads"):
        BlazeFaceDetector(num_threads=0)
    with pytest.raises(ModelError, match="min_score"):
        BlazeFaceDetector(min_score=1.5)


def test_missing_model_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="missing; run `python models/fetch_models.py`"):
        BlazeFaceDetector(model_dir=tmp_path)


@needs_models
def test_missing_interpreter_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", None)
    with pytest.raises(ModelError, match="pip install ai-edge-litert"):
        BlazeFaceDetector()


@needs_models
def test_unloadable_model_is_a_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class BrokenInterpreter:
        def __init__(self, model_path: str, num_threads: int) -> None:
            raise ValueError("Model provided has model identifier 'xxxx'")

    monkeypatch.setattr(tflite, "interpreter_class", lambda: BrokenInterpreter)
    with pytest.raises(ModelError, match="cannot load the model .*fetch_models.py"):
        BlazeFaceDetector()


def _face(x: float) -> Face:
    return Face(box_px=(x, 0.0, x + 10.0, 10.0), keypoints_px=((x, 1.0),) * 6, score=0.9)


def test_fake_detector_plays_its_script_then_finds_nothing() -> None:
    frame = np.zeros((4, 4, 3), np.uint8)
    with FakeDetector([[_face(1.0)], [], [_face(2.0), _face(3.0)]]) as fake:
        assert fake.detect(frame) == [_face(1.0)]
        assert fake.detect(frame) == []
        assert fake.detect(frame) == [_face(2.0), _face(3.0)]
        assert fake.detect(frame) == []
        assert len(fake.frames) == 4
    assert fake.closed
    with pytest.raises(RuntimeError, match="after close"):
        fake.detect(frame)


def test_fake_detector_sees_only_faces_centred_in_the_region() -> None:
    frame = np.zeros((4, 4, 3), np.uint8)
    fake = FakeDetector(lambda image: [_face(1.0), _face(40.0)])  # centres x = 6 and 45
    assert fake.detect(frame, (0, 0, 20, 20)) == [_face(1.0)]
    assert fake.detect(frame, (30, 0, 60, 20)) == [_face(40.0)]
    assert fake.detect(frame) == [_face(1.0), _face(40.0)]
    assert fake.regions == [(0, 0, 20, 20), (30, 0, 60, 20), None]


def test_fake_detector_with_a_callable_sees_each_frame() -> None:
    fake = FakeDetector(lambda image: [_face(float(image[0, 0, 0]))])
    assert fake.detect(np.full((2, 2, 3), 7, np.uint8)) == [_face(7.0)]
    assert fake.detect(np.full((2, 2, 3), 9, np.uint8)) == [_face(9.0)]
