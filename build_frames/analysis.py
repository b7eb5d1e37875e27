"""Portrait analysis: the face (BlazeFace), its mesh, and each eye's contour and iris.

Follows MediaPipe's iris-tracking graph: a detection gives a rotated square around the
face (1.5× the box, turned so the eyes are level) for the 468-point face mesh; the mesh's
eye corners give a square 2.3× the corner distance around each eye for the iris model,
with the subject's left eye mirrored because the model only knows right eyes. The
mesh runs twice, the second time on the square its first landmarks give (a painting's
detection box is rough).
Everything comes back in full-resolution portrait pixels (see build_frames/geometry.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from build_frames import geometry
from build_frames.errors import FaceError
from build_frames.landmarks import FACE_MESH_INPUT_PX, IRIS_INPUT_PX, LandmarkModels
from device.faces import Face, FaceKeypoint, box_iou

FloatArray = npt.NDArray[np.float64]
DetectorFactory = Callable[[str], Any]

# Detectors run on the whole picture; full range also finds the smaller faces of a
# half-length or group portrait.
DETECTOR_MODELS = ("short_range", "full_range")
# Last resort for a small face in a big picture: full range on overlapping tiles this
# fraction of the picture's size, stepping half a tile.
TILE_FRACTION = 0.5
# Detections overlapping more than this (IoU) are one face (as BlazeFace's own NMS).
SAME_FACE_IOU = 0.3
# MediaPipe face_detection_front_detection_to_roi / face_landmark_landmarks_to_roi: scale 1.5.
FACE_CROP_SCALE = 1.5
# MediaPipe iris_landmark_landmarks_to_roi: scale 2.3 of the eye-corner distance.
EYE_CROP_SCALE = 2.3
# MediaPipe's face_landmark graph: a face is present when the flag's sigmoid is above 0.5.
MIN_FACE_PRESENCE = 0.5
# The iris model's eyelids and iris move by a few px with the crop's scale; each eye is
# measured on crops of these scales (× the crop size) and each point is the median.
EYE_CROP_JITTER = (0.9, 1.0, 1.1)
# Below this iris radius (px) there is nothing to move: at 30° yaw the iris travels about
# one radius (R_eyeball·sin 30° ≈ 2r·0.5), and a 3-px shift is the least a viewer notices.
MIN_IRIS_RADIUS_PX = 3.0
# An iris radius is at most this fraction of the detector's face width (0.022-0.043 on the
# test photos and paintings), so a face narrower than MIN_IRIS_RADIUS_PX / this cannot have
# a large enough iris; it is refused before the landmark models run (on a face that small
# they may report no face at all, which would mislead).
MAX_IRIS_PER_FACE_WIDTH = 0.05


class MeshPoint(IntEnum):
    """Face-mesh landmarks used here (MediaPipe canonical face model indices)."""

    RIGHT_EYE_OUTER = 33  # subject's right eye = image left
    RIGHT_EYE_INNER = 133
    LEFT_EYE_INNER = 362  # subject's left eye = image right
    LEFT_EYE_OUTER = 263


# Iris-model eye contour: points 0-8 run along the lower lid from the outer to the inner
# corner, 9-15 back along the upper lid (corners excluded); the rest are brow and halo.
LOWER_LID = tuple(range(0, 9))
UPPER_LID = tuple(range(9, 16))
OPENING_POLYGON = LOWER_LID + tuple(reversed(UPPER_LID))
OUTER_CORNER, INNER_CORNER = 0, 8
IRIS_CENTRE = 0


@dataclass(frozen=True)
class Eye:
    """One eye, in portrait px.

    subject_side: "right" (the image-left eye) or "left".
    opening_px: (16, 2) eyelid polygon (the visible eye opening).
    iris_centre_px: (2,); iris_radius_px: mean centre-to-rim distance of the 4 rim points.
    """

    subject_side: str
    opening_px: FloatArray
    iris_centre_px: FloatArray
    iris_radius_px: float

    @property
    def corners_px(self) -> FloatArray:
        """(2, 2): the image-left corner, then the image-right corner."""
        a, b = self.opening_px[OUTER_CORNER], self.opening_px[INNER_CORNER]
        return np.array([a, b]) if a[0] <= b[0] else np.array([b, a])

    @property
    def axis(self) -> FloatArray:
        """Unit vector from the image-left corner to the image-right corner."""
        left, right = self.corners_px
        v = right - left
        return v / max(float(np.hypot(*v)), 1e-9)

    @property
    def width_px(self) -> float:
        left, right = self.corners_px
        return float(np.hypot(*(right - left)))


@dataclass(frozen=True)
class FaceAnalysis:
    """The chosen face. mesh_px: (468, 3) x, y and depth z (px, smaller = nearer).

    eyes: (subject's right = image-left eye, subject's left eye). number: 1-based,
    faces numbered left to right; n_faces: how many were found.
    """

    face: Face
    number: int
    n_faces: int
    mesh_px: FloatArray
    eyes: tuple[Eye, Eye]

    @property
    def face_box_px(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the mesh's x, y extent (tighter than the detector's box)."""
        x0, y0 = self.mesh_px[:, :2].min(axis=0)
        x1, y1 = self.mesh_px[:, :2].max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)


def _scaled(face: Face, factor: float, dx: float = 0.0, dy: float = 0.0) -> Face:
    box = tuple(v * factor + (dx if i % 2 == 0 else dy) for i, v in enumerate(face.box_px))
    kps = tuple((x * factor + dx, y * factor + dy) for x, y in face.keypoints_px)
    return Face(box, kps, face.score)  # type: ignore[arg-type]


def _detect_in(image: npt.NDArray[np.uint8], detector: Any, x: int = 0, y: int = 0) -> list[Face]:
    """Faces in `image` shrunk to the detector's input (area-averaged: no aliasing)."""
    side = detector.spec.input_size_px
    factor = min(side / max(image.shape[:2]), 1.0)
    small = image
    if factor < 1.0:
        size = (max(round(image.shape[1] * factor), 1), max(round(image.shape[0] * factor), 1))
        small = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
        factor = small.shape[1] / image.shape[1]
    return [_scaled(f, 1.0 / factor, x, y) for f in detector.detect(small)]


def _tiles(size: tuple[int, int], fraction: float) -> list[tuple[int, int, int, int]]:
    """Overlapping (x, y, w, h) tiles `fraction` of the image (w, h), half a tile apart."""
    width, height = size
    tw, th = max(int(width * fraction), 1), max(int(height * fraction), 1)
    xs = sorted({min(i * tw // 2, width - tw) for i in range(int(2 / fraction))})
    ys = sorted({min(j * th // 2, height - th) for j in range(int(2 / fraction))})
    return [(x, y, tw, th) for y in ys for x in xs]


def merge_detections(faces: Sequence[Face], iou: float = SAME_FACE_IOU) -> list[Face]:
    """Faces with duplicates (IoU > iou) dropped, keeping the best score; left to right."""
    kept: list[Face] = []
    for face in sorted(faces, key=lambda f: -f.score):
        if all(box_iou(face.box_px, k.box_px) <= iou for k in kept):
            kept.append(face)
    return sorted(kept, key=lambda f: f.center_px[0])


def detect_faces(image: npt.NDArray[np.uint8], make_detector: DetectorFactory) -> list[Face]:
    """All faces, in portrait px, numbered left to right; [] if none.

    Both detectors look at the whole picture (short range finds large faces, full range
    smaller ones too); if neither finds any, full range looks at overlapping tiles.
    """
    faces: list[Face] = []
    for name in DETECTOR_MODELS:
        with make_detector(name) as detector:
            faces += _detect_in(image, detector)
    if faces:
        return merge_detections(faces)
    with make_detector(DETECTOR_MODELS[-1]) as detector:
        found: list[Face] = []
        for x, y, w, h in _tiles((image.shape[1], image.shape[0]), TILE_FRACTION):
            found += _detect_in(image[y : y + h, x : x + w], detector, x, y)
    return merge_detections(found)


def choose_face(faces: Sequence[Face], number: int | None) -> tuple[Face, int, str | None]:
    """The face to animate, its 1-based number, and a note for the person (or None).

    number None: the largest, with a note when there are several. Raises FaceError if
    there is no face or `number` is not one of them.
    """
    if not faces:
        raise FaceError(
            "no face found in the portrait (tried BlazeFace short and full range, and tiles); "
            "crop the picture closer around the head"
        )
    if number is not None:
        if not 1 <= number <= len(faces):
            raise FaceError(
                f"--face {number}: the portrait has {len(faces)} face(s); choose 1 to "
                f"{len(faces)} (numbered left to right)"
            )
        return faces[number - 1], number, None
    index = max(range(len(faces)), key=lambda i: faces[i].area_px)
    note = None
    if len(faces) > 1:
        note = (
            f"found {len(faces)} faces (numbered 1-{len(faces)} left to right); using the "
            f"largest, #{index + 1}; pick another with --face N"
        )
    return faces[index], index + 1, note


def _run_mesh(
    image: npt.NDArray[np.uint8],
    models: LandmarkModels,
    centre: Sequence[float],
    size: float,
    angle: float,
) -> tuple[FloatArray, float]:
    affine = geometry.crop_affine((centre[0], centre[1]), size, angle, FACE_MESH_INPUT_PX)
    points, presence = models.face_mesh(geometry.warp_crop(image, affine, FACE_MESH_INPUT_PX))
    xy = geometry.apply_affine(affine, points[:, :2])
    z = points[:, 2] * size / FACE_MESH_INPUT_PX
    return np.column_stack([xy, z]), presence


def face_mesh(image: npt.NDArray[np.uint8], face: Face, models: LandmarkModels) -> FloatArray:
    """(468, 3) mesh in portrait px; FaceError if the mesh model sees no face there."""
    kps = face.keypoints_px
    angle = geometry.angle_of(kps[FaceKeypoint.RIGHT_EYE], kps[FaceKeypoint.LEFT_EYE])
    size = FACE_CROP_SCALE * max(face.width_px, face.height_px)
    mesh, presence = _run_mesh(image, models, face.center_px, size, angle)
    if presence >= MIN_FACE_PRESENCE:
        lo, hi = mesh[:, :2].min(axis=0), mesh[:, :2].max(axis=0)
        angle = geometry.angle_of(
            mesh[MeshPoint.RIGHT_EYE_OUTER, :2], mesh[MeshPoint.LEFT_EYE_OUTER, :2]
        )
        size = FACE_CROP_SCALE * float(max(hi - lo))
        mesh, presence = _run_mesh(image, models, (lo + hi) / 2, size, angle)
    if presence < MIN_FACE_PRESENCE:
        x0, y0, x1, y1 = (round(v) for v in face.box_px)
        raise FaceError(
            f"no face found: the detector's candidate at ({x0}, {y0})-({x1}, {y1}) px is not a "
            f"face to the landmark model (presence {presence:.2f} < {MIN_FACE_PRESENCE})"
        )
    return mesh


def _run_iris(
    image: npt.NDArray[np.uint8],
    models: LandmarkModels,
    corner_a: FloatArray,
    corner_b: FloatArray,
    size: float,
    mirror: bool,
) -> tuple[FloatArray, FloatArray]:
    """Contour (71, 2) and iris (5, 2) px for the eye between two corners (image-left
    first), from a square crop of side `size` px around their midpoint."""
    affine = geometry.crop_affine(
        tuple((corner_a + corner_b) / 2),
        size,
        geometry.angle_of(corner_a, corner_b),
        IRIS_INPUT_PX,
    )
    crop = geometry.warp_crop(image, affine, IRIS_INPUT_PX)
    contour, iris = models.iris(np.ascontiguousarray(crop[:, ::-1]) if mirror else crop)
    points = [contour[:, :2].copy(), iris[:, :2].copy()]
    if mirror:
        for p in points:
            p[:, 0] = IRIS_INPUT_PX - p[:, 0]
    return geometry.apply_affine(affine, points[0]), geometry.apply_affine(affine, points[1])


def eye_corners(mesh: FloatArray, subject_side: str) -> tuple[FloatArray, FloatArray]:
    """The mesh's (image-left, image-right) corners of one eye, px."""
    if subject_side == "left":
        return mesh[MeshPoint.LEFT_EYE_INNER, :2], mesh[MeshPoint.LEFT_EYE_OUTER, :2]
    return mesh[MeshPoint.RIGHT_EYE_OUTER, :2], mesh[MeshPoint.RIGHT_EYE_INNER, :2]


def eye_crop_size(mesh: FloatArray) -> float:
    """Side (px) of both eyes' crops: EYE_CROP_SCALE × the WIDER eye's corner distance.

    MediaPipe scales each eye by its own width; on a turned head the far eye looks
    narrower but is no shorter, so its crop came out too tight and the iris model
    shrank the eye (Vermeer's Girl with a Pearl Earring: a 0.6× narrower far eye got an
    iris 25% too small). Both eyes are the same size, so both get the wider one's crop.
    """
    widths = [float(np.hypot(*np.subtract(*eye_corners(mesh, s)))) for s in ("right", "left")]
    return EYE_CROP_SCALE * max(widths)


def find_eye(
    image: npt.NDArray[np.uint8], mesh: FloatArray, models: LandmarkModels, subject_side: str
) -> Eye:
    """One eye: the iris model on the square around the mesh's corners of that eye.

    One pass only: a second one, on the square of the iris model's own corners, shrinks
    the eye on the paintings (the model puts the corners slightly inside the eye).
    """
    a, b = eye_corners(mesh, subject_side)
    size = eye_crop_size(mesh)
    runs = [
        _run_iris(image, models, a, b, size * s, subject_side == "left") for s in EYE_CROP_JITTER
    ]
    contour = np.median(np.stack([c for c, _ in runs]), axis=0)
    iris = np.median(np.stack([i for _, i in runs]), axis=0)
    centre = iris[IRIS_CENTRE]
    radius = float(np.mean(np.hypot(*(iris[1:] - centre).T)))
    return Eye(subject_side, contour[list(OPENING_POLYGON)], centre, radius)


def check_face_size(face: Face) -> None:
    """FaceError if the face is too narrow for its irises to be large enough, whatever
    the landmark models would find."""
    need_px = math.ceil(MIN_IRIS_RADIUS_PX / MAX_IRIS_PER_FACE_WIDTH)
    if face.width_px < need_px:
        raise FaceError(
            f"face too small for the eyes to be moved: it is {face.width_px:.0f} px wide; its "
            f"irises need a radius of at least {MIN_IRIS_RADIUS_PX:.0f} px, which takes a face "
            f"about {need_px} px wide or more (use a larger scan of the portrait)"
        )


def check_eye_size(eyes: Sequence[Eye], face: Face) -> None:
    """FaceError, saying how large the face must be, if an iris is too small to move."""
    smallest = min(e.iris_radius_px for e in eyes)
    if smallest < MIN_IRIS_RADIUS_PX:
        need_px = math.ceil(face.width_px * MIN_IRIS_RADIUS_PX / max(smallest, 1e-6))
        raise FaceError(
            f"face too small for the eyes to be moved: it is {face.width_px:.0f} px wide with "
            f"an iris radius of {smallest:.1f} px; it needs an iris radius of at least "
            f"{MIN_IRIS_RADIUS_PX:.0f} px: the face about {need_px} px wide or more "
            "(use a larger scan of the portrait)"
        )


def analyse_face(
    image: npt.NDArray[np.uint8],
    face: Face,
    number: int,
    n_faces: int,
    models: LandmarkModels,
    on_stage: Callable[[], object] | None = None,
) -> FaceAnalysis:
    """Mesh and both eyes of one detected face; FaceError if unusable. on_stage is
    called after the mesh and after the eyes (a progress bar's update)."""
    check_face_size(face)
    mesh = face_mesh(image, face, models)
    if on_stage:
        on_stage()
    eyes = (find_eye(image, mesh, models, "right"), find_eye(image, mesh, models, "left"))
    if on_stage:
        on_stage()
    check_eye_size(eyes, face)
    return FaceAnalysis(face, number, n_faces, mesh, eyes)
