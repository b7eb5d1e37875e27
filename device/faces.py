"""What a face detector returns: boxes and keypoints in source-image pixels."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


def box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two (x_min, y_min, x_max, y_max) boxes."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class FaceKeypoint(IntEnum):
    """BlazeFace's six keypoints, in the order the model emits them.

    "Right"/"left" are the subject's own: the subject's right eye appears on the
    LEFT of an unmirrored image.
    """

    RIGHT_EYE = 0
    LEFT_EYE = 1
    NOSE_TIP = 2
    MOUTH = 3
    RIGHT_EAR = 4
    LEFT_EAR = 5


@dataclass(frozen=True)
class Face:
    """One detected face.

    box_px: (x_min, y_min, x_max, y_max) in source-image pixels.
    keypoints_px: six (x, y) points in source-image pixels, indexed by FaceKeypoint.
    score: detection confidence in [0, 1].
    """

    box_px: tuple[float, float, float, float]
    keypoints_px: tuple[tuple[float, float], ...]
    score: float

    @property
    def width_px(self) -> float:
        return self.box_px[2] - self.box_px[0]

    @property
    def height_px(self) -> float:
        return self.box_px[3] - self.box_px[1]

    @property
    def area_px(self) -> float:
        return max(self.width_px, 0.0) * max(self.height_px, 0.0)

    @property
    def center_px(self) -> tuple[float, float]:
        return ((self.box_px[0] + self.box_px[2]) / 2, (self.box_px[1] + self.box_px[3]) / 2)

    @property
    def eye_midpoint_px(self) -> tuple[float, float]:
        rx, ry = self.keypoints_px[FaceKeypoint.RIGHT_EYE]
        lx, ly = self.keypoints_px[FaceKeypoint.LEFT_EYE]
        return ((rx + lx) / 2, (ry + ly) / 2)
