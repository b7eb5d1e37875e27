"""The driving video: read it, find the face, cut ONE fixed square crop for the whole clip.

FOMM's relative mode transfers the driver's motion inside the crop, so the crop must not
follow the face: it is fixed for the clip, centred on the face's range of positions, with a
margin around the face (the vox-256 training crops show the whole head, the face box about
half the frame). A clip is rejected, with a one-line DrivingVideoError, when it cannot be
read, has no face, is too short, or the face leaves the crop.

Pure OpenCV/numpy: no torch. The face detector comes in as a callable (BlazeFaceDetector's
`detect`, or a fake in tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from build_frames.errors import DrivingVideoError
from device.faces import Face

# Side of the model's input (the vox-256 face model).
CROP_SIZE_PX = 256
# The crop's side is the (median) face box side grown by this fraction of it on each side:
# 0.5 → the face box spans half the crop, as in the vox-256 training crops (whole head, some
# neck and background). Use the same margin for the portrait, so both faces match in scale.
CROP_MARGIN = 0.5
# Smallest crop accepted, px: a smaller face would be enlarged more than 2× into the model's
# 256 px input, and FOMM would see a blur.
MIN_CROP_PX = 128
# Fewest usable frames: each frame of a default 33-frame pack comes from a different one.
MIN_FRAMES = 33
# More frames than this are thinned out evenly (FOMM costs ~0.5 s a frame on a 2-core CPU).
MAX_FRAMES = 300
# Frames where no face is found (blinks, motion blur, a turned head) are kept, up to this
# fraction of the clip; more means the face is lost, not briefly missed.
MAX_MISSING_FRACTION = 0.1

BoxPx = tuple[float, float, float, float]
Detect = Callable[[npt.NDArray[np.uint8]], Sequence[Face]]


@dataclass(frozen=True)
class SquareCrop:
    """A square in source-video pixels: left x, top y, side, all px (integers)."""

    x: int
    y: int
    side: int

    @property
    def box_px(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.x + self.side, self.y + self.side)

    def contains(self, box_px: BoxPx) -> bool:
        x0, y0, x1, y1 = self.box_px
        return box_px[0] >= x0 and box_px[1] >= y0 and box_px[2] <= x1 and box_px[3] <= y1


@dataclass(frozen=True)
class DrivingClip:
    """A driving video ready for FOMM.

    frames_rgb: (N, 256, 256, 3) uint8, the crop of each kept frame; frames_rgb[0] is the
    reference frame of the relative motion. frame_index: (N,) index of each in the video.
    crop: the fixed crop in video px. fps: the video's frame rate (0 if unknown).
    """

    frames_rgb: npt.NDArray[np.uint8]
    frame_index: npt.NDArray[np.int64]
    crop: SquareCrop
    fps: float


def _read_frames(path: Path) -> Iterator[npt.NDArray[np.uint8]]:
    """The video's frames as (H, W, 3) uint8 RGB; DrivingVideoError if it cannot be opened."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise DrivingVideoError(f"{path}: cannot open it as a video (an mp4/mov/avi OpenCV reads)")
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                return
            yield np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
    finally:
        capture.release()


def _video_fps(path: Path) -> float:
    capture = cv2.VideoCapture(str(path))
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS))
    finally:
        capture.release()
    return fps if np.isfinite(fps) and fps > 0 else 0.0


def _when(index: int, fps: float) -> str:
    return f"frame {index} ({index / fps:.2f} s)" if fps else f"frame {index}"


def largest_face_boxes(
    frames: Iterator[npt.NDArray[np.uint8]], detect: Detect
) -> tuple[list[BoxPx | None], tuple[int, int]]:
    """The largest face's box_px in each frame (None where there is none), and the (w, h) px."""
    boxes: list[BoxPx | None] = []
    size = (0, 0)
    for frame in frames:
        size = (frame.shape[1], frame.shape[0])
        faces = detect(frame)
        boxes.append(max(faces, key=lambda f: f.area_px).box_px if faces else None)
    return boxes, size


def fixed_crop(boxes: Sequence[BoxPx], image_wh: tuple[int, int], margin: float) -> SquareCrop:
    """The one square for all frames: centred on the middle of the face centres' range, side
    (1 + 2·margin) × the median face box side, moved (then shrunk) to fit the image."""
    arr = np.asarray(boxes, np.float64)
    centres = (arr[:, :2] + arr[:, 2:]) / 2
    centre = (centres.min(axis=0) + centres.max(axis=0)) / 2
    face_side = float(np.median(np.maximum(arr[:, 2] - arr[:, 0], arr[:, 3] - arr[:, 1])))
    side = int(round(min((1 + 2 * margin) * face_side, *image_wh)))
    x = int(round(centre[0] - side / 2))
    y = int(round(centre[1] - side / 2))
    x = min(max(x, 0), image_wh[0] - side)
    y = min(max(y, 0), image_wh[1] - side)
    return SquareCrop(x, y, side)


def _kept_indices(first: int, count: int, max_frames: int) -> npt.NDArray[np.int64]:
    """Frames first … count-1, thinned evenly to at most max_frames (first always kept)."""
    if count - first <= max_frames:
        return np.arange(first, count, dtype=np.int64)
    return np.unique(np.round(np.linspace(first, count - 1, max_frames)).astype(np.int64))


def crop_frame(
    frame_rgb: npt.NDArray[np.uint8], crop: SquareCrop, size_px: int
) -> npt.NDArray[np.uint8]:
    """The crop of a (H, W, 3) frame resized to (size_px, size_px, 3): area-averaged when
    shrinking (no aliasing), bicubic when enlarging."""
    patch = frame_rgb[crop.y : crop.y + crop.side, crop.x : crop.x + crop.side]
    interpolation = cv2.INTER_AREA if crop.side >= size_px else cv2.INTER_CUBIC
    return np.asarray(
        cv2.resize(patch, (size_px, size_px), interpolation=interpolation), dtype=np.uint8
    )


def load_driving_clip(
    path: str | Path,
    detect: Detect,
    min_frames: int = MIN_FRAMES,
    max_frames: int = MAX_FRAMES,
    margin: float = CROP_MARGIN,
    size_px: int = CROP_SIZE_PX,
) -> DrivingClip:
    """Read a driving video and cut its fixed face crop; see the module docstring.

    The clip starts at the first frame with a face (the relative motion's reference).
    Raises DrivingVideoError for a missing or unreadable file, no face, fewer than
    `min_frames` frames from the first face on, a face missing in more than
    MAX_MISSING_FRACTION of them, a face too small for a MIN_CROP_PX crop, or a face box
    reaching outside the crop.
    """
    path = Path(path)
    if min_frames < 1 or max_frames < min_frames:
        raise ValueError(f"need 1 <= min_frames <= max_frames, got {min_frames}, {max_frames}")
    if not path.is_file():
        raise DrivingVideoError(f"{path}: no such file (the driving video)")
    fps = _video_fps(path)
    boxes, image_wh = largest_face_boxes(_read_frames(path), detect)
    if not boxes:
        raise DrivingVideoError(f"{path}: no frames could be read from the video")
    found = [i for i, box in enumerate(boxes) if box is not None]
    if not found:
        raise DrivingVideoError(
            f"{path}: no face found in any of its {len(boxes)} frames; film a face, "
            "front-on and well lit"
        )
    kept = _kept_indices(found[0], len(boxes), max_frames)
    if len(kept) < min_frames:
        raise DrivingVideoError(
            f"{path}: only {len(kept)} frames from the first face on, at least {min_frames} "
            "needed; record a longer clip (a few seconds of looking left and right)"
        )
    missing = [int(i) for i in kept if boxes[i] is None]
    if len(missing) > MAX_MISSING_FRACTION * len(kept):
        raise DrivingVideoError(
            f"{path}: no face found in {len(missing)} of {len(kept)} frames (first at "
            f"{_when(missing[0], fps)}); keep the face in view, front-on and well lit"
        )
    face_boxes = {int(i): box for i in kept if (box := boxes[i]) is not None}
    crop = fixed_crop(list(face_boxes.values()), image_wh, margin)
    if crop.side < MIN_CROP_PX:
        raise DrivingVideoError(
            f"{path}: the face is too small ({crop.side} px crop, at least {MIN_CROP_PX} "
            "needed); film closer"
        )
    for i, box in face_boxes.items():
        if not crop.contains(box):
            raise DrivingVideoError(
                f"{path}: the face leaves the fixed crop {crop.box_px} px at {_when(i, fps)} "
                f"(face box {tuple(round(v) for v in box)}); keep the head roughly still and "
                "look left and right"
            )
    wanted = set(kept.tolist())
    frames = [
        crop_frame(frame, crop, size_px)
        for i, frame in enumerate(_read_frames(path))
        if i in wanted
    ]
    if len(frames) != len(kept):
        raise DrivingVideoError(
            f"{path}: read {len(frames)} of {len(kept)} frames the second time; "
            "the file changed or is damaged"
        )
    return DrivingClip(np.stack(frames), kept, crop, fps)
