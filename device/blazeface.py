"""BlazeFace pre- and post-processing: letterbox, anchors, decoding, weighted NMS.

Pure numpy/OpenCV; the interpreter that runs the network lives in device/detector.py.

Paper: V. Bazarevsky et al., "BlazeFace: Sub-millisecond Neural Face Detection on
Mobile GPUs", arXiv:1907.05047 (2019).
Upstream: Google MediaPipe, mediapipe/modules/face_detection/ — the graphs
face_detection_short_range.pbtxt and face_detection_full_range.pbtxt give the anchor,
decoding and suppression options used below (SsdAnchorsCalculator,
TensorsToDetectionsCalculator, NonMaxSuppressionCalculator).
Weights: Apache-2.0, see models/README.md.

Coordinate spaces, named in every variable:
    *_px    source-image pixels, continuous: pixel (i, j) covers [i, i+1) × [j, j+1)
    *_norm  model input normalised to [0, 1] over the whole (letterboxed) square input

A detection may run on a region of the source image (a search tile, a tracking crop):
the region is letterboxed straight out of the full image (a view, one resize, no copy)
and the transform maps results back to the full image's pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from device.faces import Face, box_iou

FloatArray = npt.NDArray[np.float64]
# A rectangle of whole source pixels: (x_min, y_min, x_max, y_max), max exclusive, so
# (0, 0, width, height) is the whole image.
PixelRegion = tuple[int, int, int, int]

# Values per anchor in the regressor output: box (x, y, w, h) then 6 keypoints × (x, y)
# (TensorsToDetectionsCalculator: num_coords 16, num_keypoints 6, num_values_per_keypoint 2).
NUM_COORDS = 16
NUM_KEYPOINTS = 6
# Offset of each anchor's centre inside its grid cell, in cells (anchor_offset_x/y 0.5).
ANCHOR_OFFSET = 0.5
# Raw logits are clipped to ±this before the sigmoid (score_clipping_thresh: 100.0).
RAW_SCORE_LIMIT = 100.0
# Logit pre-selection slack: float32 logits vs the float64 score threshold.
LOGIT_MARGIN = 1e-4
# Overlap (IoU) above which detections are merged (min_suppression_threshold: 0.3).
MIN_SUPPRESSION_THRESHOLD = 0.3
# Pixel values map to [-1, 1] (ImageToTensorCalculator output_tensor_float_range -1..1).
PIXEL_SCALE = 127.5
# Bilinear, as MediaPipe's own CPU ImageToTensorCalculator (OpenCV warp, INTER_LINEAR).
# INTER_AREA would antialias but costs 10-17x more from a 640x480 frame (0.29 vs 0.03 ms
# into 128 px, 1.04 vs 0.06 ms into 192 px, x86) for no gain on the test photos.
RESIZE_INTERPOLATION = cv2.INTER_LINEAR


def ssd_anchors(input_size_px: int, layers: tuple[tuple[int, int], ...]) -> FloatArray:
    """Anchor centres for a square SSD input, in MediaPipe's order.

    layers: (stride_px, anchors_per_cell) per feature map. Anchors run over rows, then
    columns, then the anchors of one cell. With fixed_anchor_size every anchor is 1×1
    (normalised), so only the centres matter.

    Returns (N, 2) anchor centres (x, y), norm.
    """
    centres: list[FloatArray] = []
    for stride_px, per_cell in layers:
        grid = -(-input_size_px // stride_px)  # ceil: feature-map side in cells
        cells = (np.arange(grid, dtype=np.float64) + ANCHOR_OFFSET) / grid
        ys, xs = np.meshgrid(cells, cells, indexing="ij")
        xy = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(xy, per_cell, axis=0))
    return np.concatenate(centres, axis=0)


@dataclass(frozen=True, eq=False)
class BlazeFaceSpec:
    """What one BlazeFace variant needs around the network.

    input_size_px: side of the square RGB input.
    anchors_norm_xy: (N, 2) anchor centres, norm.
    decode_scale_px: raw box/keypoint offsets are in input pixels; divide by this
        (x_scale = y_scale = w_scale = h_scale = input size).
    raw_score_limit: logits are clipped to ±this before the sigmoid.
    min_suppression_threshold: IoU above which detections are merged.
    """

    name: str
    input_size_px: int
    anchors_norm_xy: FloatArray
    decode_scale_px: float
    raw_score_limit: float = RAW_SCORE_LIMIT
    min_suppression_threshold: float = MIN_SUPPRESSION_THRESHOLD

    @property
    def num_anchors(self) -> int:
        return int(self.anchors_norm_xy.shape[0])


# face_detection_short_range.pbtxt: 128×128 input, num_layers 4, strides [8, 16, 16, 16],
# aspect_ratios [1.0] plus one interpolated scale → 2 anchors per layer; the three
# stride-16 layers share one 8×8 map → 16×16×2 + 8×8×6 = 896 anchors.
SHORT_RANGE_INPUT_PX = 128
SHORT_RANGE_LAYERS = ((8, 2), (16, 6))
SHORT_RANGE = BlazeFaceSpec(
    name="short_range",
    input_size_px=SHORT_RANGE_INPUT_PX,
    anchors_norm_xy=ssd_anchors(SHORT_RANGE_INPUT_PX, SHORT_RANGE_LAYERS),
    decode_scale_px=float(SHORT_RANGE_INPUT_PX),
)

# face_detection_full_range.pbtxt: 192×192 input, num_layers 1, strides [4],
# interpolated_scale_aspect_ratio 0 → 1 anchor per cell of a 48×48 map = 2304 anchors.
FULL_RANGE_INPUT_PX = 192
FULL_RANGE_LAYERS = ((4, 1),)
FULL_RANGE = BlazeFaceSpec(
    name="full_range",
    input_size_px=FULL_RANGE_INPUT_PX,
    anchors_norm_xy=ssd_anchors(FULL_RANGE_INPUT_PX, FULL_RANGE_LAYERS),
    decode_scale_px=float(FULL_RANGE_INPUT_PX),
)

SPECS: dict[str, BlazeFaceSpec] = {spec.name: spec for spec in (SHORT_RANGE, FULL_RANGE)}


@dataclass(frozen=True)
class LetterboxTransform:
    """Maps the square model input back to the source image.

    The source region starting at (offset_x_px, offset_y_px) (the whole image: 0, 0)
    was resized by (scale_x, scale_y) (equal up to rounding of the resized size) and
    pasted at (pad_x_px, pad_y_px) of the input_size_px square.
    """

    input_size_px: int
    scale_x: float
    scale_y: float
    pad_x_px: float
    pad_y_px: float
    offset_x_px: float = 0.0
    offset_y_px: float = 0.0

    def norm_to_source_px(self, xy_norm: npt.ArrayLike) -> FloatArray:
        """(..., 2) points, norm → source px."""
        xy = np.asarray(xy_norm, dtype=np.float64)
        pad = np.array((self.pad_x_px, self.pad_y_px))
        scale = np.array((self.scale_x, self.scale_y))
        offset = np.array((self.offset_x_px, self.offset_y_px))
        result: FloatArray = (xy * self.input_size_px - pad) / scale + offset
        return result

    def source_px_to_norm(self, xy_px: npt.ArrayLike) -> FloatArray:
        """(..., 2) points, source px → norm."""
        xy = np.asarray(xy_px, dtype=np.float64)
        return np.stack(
            [
                ((xy[..., 0] - self.offset_x_px) * self.scale_x + self.pad_x_px)
                / self.input_size_px,
                ((xy[..., 1] - self.offset_y_px) * self.scale_y + self.pad_y_px)
                / self.input_size_px,
            ],
            axis=-1,
        )


def check_region(region_px: PixelRegion, width_px: int, height_px: int) -> None:
    """ValueError unless region_px is a non-empty rectangle inside a width × height image."""
    x_min, y_min, x_max, y_max = region_px
    if not (0 <= x_min < x_max <= width_px and 0 <= y_min < y_max <= height_px):
        raise ValueError(
            f"region {region_px!r} is empty or not inside the {width_px}x{height_px} image"
        )


def letterbox(
    image_rgb: npt.NDArray[np.uint8],
    size_px: int,
    out: npt.NDArray[np.float32] | None = None,
    region_px: PixelRegion | None = None,
) -> tuple[npt.NDArray[np.float32], LetterboxTransform]:
    """Fit an image, or a region of it, into a black size_px square, keeping its aspect ratio.

    image_rgb: (H, W, 3) uint8.
    out: optional (1, size_px, size_px, 3) float32 buffer to fill (a detector reuses one
        so that no per-frame allocation is made).
    region_px: the part of the image to use (default: all of it); it is resized
        straight out of the image, without a copy.
    Returns the (1, size_px, size_px, 3) float32 tensor in [-1, 1] and the transform
    from its normalised coordinates back to the image's pixels.
    """
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
        raise ValueError(
            f"expected an (H, W, 3) uint8 RGB image, got shape {image_rgb.shape!r} "
            f"dtype {image_rgb.dtype!r}"
        )
    offset_x = offset_y = 0
    if region_px is not None:
        check_region(region_px, image_rgb.shape[1], image_rgb.shape[0])
        offset_x, offset_y, x_max, y_max = region_px
        image_rgb = image_rgb[offset_y:y_max, offset_x:x_max]  # a view: no copy
    height, width = image_rgb.shape[:2]
    scale = size_px / max(height, width)
    resized_w = max(1, round(width * scale))
    resized_h = max(1, round(height * scale))
    resized = cv2.resize(image_rgb, (resized_w, resized_h), interpolation=RESIZE_INTERPOLATION)
    pad_x = (size_px - resized_w) // 2
    pad_y = (size_px - resized_h) // 2
    tensor = np.empty((1, size_px, size_px, 3), np.float32) if out is None else out
    if resized_w != size_px or resized_h != size_px:
        tensor.fill(-1.0)  # black, normalised
    region = tensor[0, pad_y : pad_y + resized_h, pad_x : pad_x + resized_w]
    # x / 127.5 - 1 maps 0..255 to -1..1, written in place: no temporaries per frame.
    np.multiply(resized, np.float32(1.0 / PIXEL_SCALE), out=region, casting="unsafe")
    np.subtract(region, np.float32(1.0), out=region)
    transform = LetterboxTransform(
        input_size_px=size_px,
        scale_x=resized_w / width,
        scale_y=resized_h / height,
        pad_x_px=float(pad_x),
        pad_y_px=float(pad_y),
        offset_x_px=float(offset_x),
        offset_y_px=float(offset_y),
    )
    return tensor, transform


@dataclass(frozen=True, eq=False)
class Detections:
    """M detections, in model-normalised coordinates.

    boxes_norm: (M, 4) x_min, y_min, x_max, y_max.
    keypoints_norm: (M, 6, 2) (x, y), in FaceKeypoint order.
    scores: (M,) in [0, 1].
    """

    boxes_norm: FloatArray
    keypoints_norm: FloatArray
    scores: FloatArray

    def __len__(self) -> int:
        return int(self.scores.shape[0])


def sigmoid_scores(raw_scores: npt.ArrayLike, raw_score_limit: float) -> FloatArray:
    """Logits → probabilities, clipping to ±raw_score_limit first so exp() never overflows."""
    raw = np.clip(
        np.asarray(raw_scores, dtype=np.float64).ravel(), -raw_score_limit, raw_score_limit
    )
    result: FloatArray = 1.0 / (1.0 + np.exp(-raw))
    return result


def _logit(p: float) -> float:
    """Inverse of the sigmoid: the raw score whose probability is p (±inf at 0 and 1)."""
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return math.log(p / (1.0 - p))


def decode(
    raw_boxes: npt.ArrayLike, raw_scores: npt.ArrayLike, spec: BlazeFaceSpec, min_score: float
) -> Detections:
    """Decode the network's raw outputs relative to the anchors; keep score >= min_score.

    raw_boxes: (N, 16) or (1, N, 16): box centre offset, box size, then 6 keypoint
        offsets, all in input pixels relative to the anchor centre, (x, y) order.
    raw_scores: (N, 1), (N,) or (1, N, 1) logits.
    """
    raw_box_rows = np.asarray(raw_boxes).reshape(-1, NUM_COORDS)
    raw = np.asarray(raw_scores).reshape(-1)
    if raw_box_rows.shape[0] != spec.num_anchors or raw.shape[0] != spec.num_anchors:
        raise ValueError(
            f"{spec.name}: expected {spec.num_anchors} anchors, got boxes {raw_box_rows.shape!r} "
            f"and scores {raw.shape!r}"
        )
    # Select on the logits first (sigmoid is monotonic) so only the few candidates are
    # converted; the exact score test then runs on those. The margin covers rounding.
    min_logit = min(_logit(min_score), spec.raw_score_limit)
    candidates = np.flatnonzero(raw >= min_logit - LOGIT_MARGIN)
    scores = sigmoid_scores(raw[candidates], spec.raw_score_limit)
    keep = candidates[scores >= min_score]
    scores = scores[scores >= min_score]
    boxes = raw_box_rows[keep].astype(np.float64) / spec.decode_scale_px
    anchors = spec.anchors_norm_xy[keep]
    centre = boxes[:, 0:2] + anchors
    half_size = boxes[:, 2:4] / 2.0
    boxes_norm = np.concatenate([centre - half_size, centre + half_size], axis=1)
    keypoints_norm = boxes[:, 4:].reshape(-1, NUM_KEYPOINTS, 2) + anchors[:, np.newaxis, :]
    return Detections(boxes_norm=boxes_norm, keypoints_norm=keypoints_norm, scores=scores)


def weighted_nms(
    boxes_norm: FloatArray, keypoints_norm: FloatArray, scores: FloatArray, iou_threshold: float
) -> Detections:
    """MediaPipe's weighted non-max suppression.

    Repeatedly take the best remaining detection and every remaining one overlapping it
    by IoU > iou_threshold; replace the cluster by the score-weighted mean of its boxes
    and keypoints, keeping the best score. Output is sorted by score, highest first.
    Shapes as in Detections.
    """
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    # Boxes and keypoints side by side, so each cluster is merged by one weighted sum.
    rows = np.concatenate(
        [boxes_norm[order], keypoints_norm[order].reshape(len(order), 2 * NUM_KEYPOINTS)], axis=1
    )
    # M is a handful of anchors per face: plain Python clustering beats numpy's per-call
    # overhead here, and the merge stays one weighted sum per cluster.
    boxes = rows[:, :4].tolist()
    remaining = list(range(len(order)))
    merged: list[FloatArray] = []
    best_scores: list[float] = []
    while remaining:
        best = remaining[0]
        # The best box always belongs to its own cluster, even if degenerate (zero area).
        cluster = [
            i for i in remaining if i == best or box_iou(boxes[best], boxes[i]) > iou_threshold
        ]
        remaining = [i for i in remaining if i not in cluster]
        weights = ranked[cluster]
        merged.append((weights @ rows[cluster]) / weights.sum())
        best_scores.append(float(ranked[best]))
    out = np.stack(merged) if merged else np.zeros((0, 4 + 2 * NUM_KEYPOINTS))
    return Detections(
        boxes_norm=out[:, :4],
        keypoints_norm=out[:, 4:].reshape(-1, NUM_KEYPOINTS, 2),
        scores=np.asarray(best_scores, dtype=np.float64),
    )


def to_faces(detections: Detections, transform: LetterboxTransform) -> list[Face]:
    """Detections (norm) → Face objects in source px, in the detections' order.

    Boxes are not clipped to the image: a face cut by the edge keeps its true centre.
    """
    corners_px = transform.norm_to_source_px(detections.boxes_norm.reshape(-1, 2, 2))
    keypoints_px = transform.norm_to_source_px(detections.keypoints_norm)
    faces = []
    for corners, points, score in zip(corners_px, keypoints_px, detections.scores, strict=True):
        (x_min, y_min), (x_max, y_max) = corners.tolist()
        faces.append(
            Face(
                box_px=(x_min, y_min, x_max, y_max),
                keypoints_px=tuple(map(tuple, points.tolist())),
                score=float(score),
            )
        )
    return faces


def faces_from_raw(
    raw_boxes: npt.ArrayLike,
    raw_scores: npt.ArrayLike,
    spec: BlazeFaceSpec,
    transform: LetterboxTransform,
    min_score: float,
) -> list[Face]:
    """decode → weighted_nms → to_faces: the whole post-processing, highest score first."""
    found = decode(raw_boxes, raw_scores, spec, min_score)
    merged = weighted_nms(
        found.boxes_norm, found.keypoints_norm, found.scores, spec.min_suppression_threshold
    )
    return to_faces(merged, transform)
