"""Which FOMM frames go into the pack, and in what order: by where the eyes look.

A driver may look left, right and left again, or linger at one side; the pack needs N frames
whose gaze ascends from the leftmost to the rightmost. So the horizontal gaze of every frame
is measured — the face mesh and iris landmarks of build_frames/analysis.py, read with the
eyeball model of build_frames/gaze.py (asin of the iris offset from the middle of its eye's
corners over the eyeball radius; degrees, + = iris toward the image's right) — and N frames
are picked whose gazes lie closest to N evenly spaced values from the leftmost to the
rightmost measured gaze, in ascending order.

Pure numpy and LiteRT: no torch. The face detector comes in as a callable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from build_frames import analysis, gaze
from build_frames.errors import FaceError
from build_frames.eyes import eye_pose
from build_frames.landmarks import LandmarkModels
from device.faces import Face

U8 = npt.NDArray[np.uint8]
Detect = Callable[[U8], Sequence[Face]]

# An iris narrower than this (px) on a 256-px head is a landmark model guessing, not an eye
# (a real one there is ~4 px: an iris ≈ 0.03 of the face width, the face half the crop).
MIN_MEASURED_IRIS_RADIUS_PX = 1.0
# A gaze span below this (degrees) means the driver hardly moved their eyes: the frames will
# look alike (the person is told; the pack is still written).
MIN_GAZE_SPAN_DEG = 10.0
SUBJECT_SIDES = ("right", "left")


def _plausible(pose: gaze.EyePose) -> bool:
    """Is the iris inside its eye, between the corners, and not a speck?"""
    return (
        pose.iris_radius_px >= MIN_MEASURED_IRIS_RADIUS_PX
        and pose.iris_radius_px < pose.half_width_px
        and abs(pose.offset_along_axis_px) < pose.half_width_px
    )


def measure_gaze_deg(image_rgb: U8, detect: Detect, models: LandmarkModels) -> float | None:
    """Horizontal gaze (degrees, + toward the image right) of the largest face in a
    (H, W, 3) uint8 image; None where no face is found, the mesh model sees no face, or an
    iris is implausible (the eyes cannot be measured)."""
    faces = detect(image_rgb)
    if not faces:
        return None
    face = max(faces, key=lambda f: f.area_px)
    try:
        mesh = analysis.face_mesh(image_rgb, face, models)
    except FaceError:
        return None
    poses = [eye_pose(analysis.find_eye(image_rgb, mesh, models, s)) for s in SUBJECT_SIDES]
    if not all(_plausible(p) for p in poses):
        return None
    return gaze.original_yaw_deg(poses)


def spread_targets(gaze_deg: Sequence[float], count: int) -> npt.NDArray[np.float64]:
    """`count` evenly spaced gazes from the smallest to the largest of `gaze_deg`."""
    return np.linspace(min(gaze_deg), max(gaze_deg), count)


def pick_spread(gaze_deg: Sequence[float], count: int) -> list[int]:
    """Indices of `count` distinct entries of `gaze_deg`, in ascending gaze, from the
    leftmost to the rightmost, whose gazes lie closest (least total |difference|) to
    `count` evenly spaced values between those two.

    Ties keep the input order. ValueError if there are fewer than `count` (>= 2) entries.
    """
    if count < 2 or len(gaze_deg) < count:
        raise ValueError(f"need 2 <= count <= {len(gaze_deg)} gazes, got count {count}")
    order = np.argsort(np.asarray(gaze_deg, np.float64), kind="stable")
    values = np.asarray(gaze_deg, np.float64)[order]
    targets = spread_targets(values.tolist(), count)
    # cost[i, j]: the i-th target taken by the j-th smallest gaze. The picks strictly ascend
    # in j; the first is the leftmost and the last the rightmost. Dynamic programming over
    # the targets with a running minimum of the previous row: O(count × len(gaze_deg)).
    cost = np.abs(values[None, :] - targets[:, None])
    cost[0, 1:] = np.inf
    cost[-1, :-1] = np.inf
    total = cost[0]
    came_from = np.zeros(cost.shape, np.int64)
    for i in range(1, count):
        row = np.full(len(values), np.inf)
        best, where = np.inf, 0
        for j in range(i, len(values)):
            if total[j - 1] < best:
                best, where = float(total[j - 1]), j - 1
            row[j] = cost[i, j] + best
            came_from[i, j] = where
        total = row
    picks = [len(values) - 1]
    for i in range(count - 1, 0, -1):
        picks.append(int(came_from[i, picks[-1]]))
    return [int(order[j]) for j in reversed(picks)]


@dataclass(frozen=True)
class FrameChoice:
    """The frames picked from a clip of M frames.

    indices: the picked clip frames, in ascending gaze. gaze_deg: (M,) the gaze measured in
    each frame (None where it could not be). measured_on: "generated heads" or "driving
    video". targets_deg: the evenly spaced gazes the picks were matched to.
    """

    indices: tuple[int, ...]
    gaze_deg: tuple[float | None, ...]
    measured_on: str
    targets_deg: tuple[float, ...]

    @property
    def n_measured(self) -> int:
        return sum(g is not None for g in self.gaze_deg)

    @property
    def picked_gaze_deg(self) -> tuple[float, ...]:
        return tuple(float(self.gaze_deg[i]) for i in self.indices)  # type: ignore[arg-type]

    @property
    def span_deg(self) -> float:
        picked = self.picked_gaze_deg
        return picked[-1] - picked[0]


def choose(gaze_deg: Sequence[float | None], count: int, measured_on: str) -> FrameChoice:
    """Pick `count` of the measured frames (see pick_spread); the caller checked that at
    least `count` were measured."""
    measured = [i for i, g in enumerate(gaze_deg) if g is not None]
    values = [float(gaze_deg[i]) for i in measured]  # type: ignore[arg-type]
    picks = pick_spread(values, count)
    return FrameChoice(
        tuple(measured[p] for p in picks),
        tuple(gaze_deg),
        measured_on,
        tuple(float(t) for t in spread_targets(values, count)),
    )
