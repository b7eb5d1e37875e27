"""Portrait analysis on the package-shipped photos, and choosing among faces.

Ground truth for the photos: tests/device/test_detector.py (pupils read off zoomed crops):
astronaut eyes at (203, 102) and (246, 103) px, Grace Hopper's at (222, 191) and (306, 188).
"""

from __future__ import annotations

import numpy as np
import pytest

from build_frames import analysis, geometry
from build_frames.errors import FaceError
from device.detector import FakeDetector
from device.faces import Face

TRUTH = {
    "astronaut": ((203, 102), (246, 103)),
    "grace_hopper": ((222, 191), (306, 188)),
}


def face_at(x0: float, y0: float, size: float, score: float = 0.9) -> Face:
    kps = tuple(
        (x0 + size * fx, y0 + size * fy)
        for fx, fy in ((0.3, 0.4), (0.7, 0.4), (0.5, 0.6), (0.5, 0.8), (0.1, 0.5), (0.9, 0.5))
    )
    return Face((x0, y0, x0 + size, y0 + size), kps, score)


def test_irises_sit_on_the_pupils_inside_their_eyelids(photo):
    name = "astronaut" if photo.image.shape[0] == 512 else "grace_hopper"
    right, left = photo.analysis.eyes
    assert (right.subject_side, left.subject_side) == ("right", "left")
    assert right.iris_centre_px[0] < left.iris_centre_px[0]  # subject's right = image left
    for eye, truth in zip(photo.analysis.eyes, TRUTH[name], strict=True):
        assert np.hypot(*(eye.iris_centre_px - truth)) < 0.5 * eye.iris_radius_px + 2
        assert analysis.MIN_IRIS_RADIUS_PX <= eye.iris_radius_px < 0.5 * eye.width_px
        inside = geometry.polygon_mask(eye.opening_px, (0, 0), photo.image.shape[:2])
        cx, cy = (int(v) for v in eye.iris_centre_px)
        assert inside[cy, cx] == 1.0
        left_corner, right_corner = eye.corners_px
        assert left_corner[0] < eye.iris_centre_px[0] < right_corner[0]
    assert photo.analysis.mesh_px.shape == (468, 3)


def test_faces_are_numbered_left_to_right_and_the_largest_is_the_default():
    faces = analysis.merge_detections(
        [face_at(300, 10, 50), face_at(10, 10, 80), face_at(12, 12, 78, score=0.5)]
    )
    assert [f.box_px[0] for f in faces] == [10, 300]  # the overlapping duplicate is gone
    face, number, note = analysis.choose_face(faces, None)
    assert number == 1 and face.width_px == 80
    assert note is not None and "found 2 faces" in note and "largest, #1" in note
    assert "--face N" in note
    face, number, note = analysis.choose_face(faces, 2)
    assert number == 2 and face.width_px == 50 and note is None


def test_face_numbers_out_of_range_and_no_face():
    faces = [face_at(0, 0, 50)]
    with pytest.raises(FaceError, match="--face 3: the portrait has 1 face.s.; choose 1 to 1"):
        analysis.choose_face(faces, 3)
    with pytest.raises(FaceError, match="no face found"):
        analysis.choose_face([], None)


def test_detection_falls_back_to_full_range_then_to_tiles():
    calls: list[tuple[str, tuple[int, ...]]] = []

    def make(name: str) -> FakeDetector:
        def detect(image: np.ndarray) -> list[Face]:
            calls.append((name, image.shape))
            return []

        detector = FakeDetector(detect)
        detector.spec = type("Spec", (), {"input_size_px": 128})()  # type: ignore[attr-defined]
        return detector

    image = np.zeros((400, 300, 3), np.uint8)
    assert analysis.detect_faces(image, make) == []
    names = [n for n, _ in calls]
    assert names[:2] == ["short_range", "full_range"] and len(names) == 2 + 9
    assert set(names[2:]) == {"full_range"}
    assert all(max(shape[:2]) <= 128 for _, shape in calls)  # shrunk to the input first


def test_detections_come_back_in_portrait_pixels():
    def make(name: str) -> FakeDetector:
        detector = FakeDetector(lambda image: [face_at(32, 16, 32)])
        detector.spec = type("Spec", (), {"input_size_px": 128})()  # type: ignore[attr-defined]
        return detector

    (face,) = analysis.detect_faces(np.zeros((512, 256, 3), np.uint8), make)
    assert face.box_px == pytest.approx((128, 64, 256, 192))  # 4x the 128-px detector input


def test_a_face_too_small_says_how_large_it_must_be(photo):
    small = [
        analysis.Eye(e.subject_side, e.opening_px, e.iris_centre_px, 1.5)
        for e in photo.analysis.eyes
    ]
    with pytest.raises(FaceError, match="face too small.*iris radius of 1.5 px.*at least 3 px"):
        analysis.check_eye_size(small, photo.analysis.face)


def test_a_tiny_face_is_refused_before_the_landmark_models():
    analysis.check_face_size(face_at(0, 0, 61))
    with pytest.raises(FaceError, match="it is 40 px wide.*a face about 60 px wide or more"):
        analysis.check_face_size(face_at(0, 0, 40))
