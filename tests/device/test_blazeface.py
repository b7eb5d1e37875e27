"""Pure BlazeFace maths: anchors, letterbox, decoding, sigmoid clipping, weighted NMS."""

from __future__ import annotations

import numpy as np
import pytest

from device import blazeface
from device.blazeface import FULL_RANGE, SHORT_RANGE, LetterboxTransform


def test_short_range_anchors_count_and_centres() -> None:
    anchors = SHORT_RANGE.anchors_norm_xy
    assert anchors.shape == (896, 2)
    # Stride 8: 16×16 cells, 2 anchors each, row-major; first cell centre is half a cell in.
    np.testing.assert_allclose(anchors[0], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(anchors[1], anchors[0])
    np.testing.assert_allclose(anchors[2], [1.5 / 16, 0.5 / 16])  # next column, same row
    np.testing.assert_allclose(anchors[32], [0.5 / 16, 1.5 / 16])  # next row
    np.testing.assert_allclose(anchors[511], [15.5 / 16, 15.5 / 16])
    # Stride 16: 8×8 cells, 6 anchors each.
    np.testing.assert_allclose(anchors[512:518], np.tile([0.5 / 8, 0.5 / 8], (6, 1)))
    np.testing.assert_allclose(anchors[518], [1.5 / 8, 0.5 / 8])
    np.testing.assert_allclose(anchors[-1], [7.5 / 8, 7.5 / 8])


def test_full_range_anchors_one_per_cell_of_48x48() -> None:
    anchors = FULL_RANGE.anchors_norm_xy
    assert anchors.shape == (2304, 2)
    assert len(np.unique(anchors, axis=0)) == 2304
    np.testing.assert_allclose(anchors[0], [0.5 / 48, 0.5 / 48])
    np.testing.assert_allclose(anchors[1], [1.5 / 48, 0.5 / 48])
    np.testing.assert_allclose(anchors[48], [0.5 / 48, 1.5 / 48])
    assert FULL_RANGE.input_size_px == FULL_RANGE.decode_scale_px == 192
    assert SHORT_RANGE.input_size_px == SHORT_RANGE.decode_scale_px == 128


def _dot_image(height: int, width: int, x: int, y: int) -> np.ndarray:
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[y - 2 : y + 3, x - 2 : x + 3] = 255
    return image


def _dot_centre_norm(tensor: np.ndarray) -> np.ndarray:
    """Brightness-weighted centre of the letterboxed dot, norm."""
    weight = tensor[0, :, :, 0].astype(np.float64) + 1.0  # black (padding included) → 0
    size = weight.shape[0]
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    total = weight.sum()
    return np.array([(weight * xs).sum() / total, (weight * ys).sum() / total]) / size


@pytest.mark.parametrize(
    ("height", "width", "x", "y"),
    [(480, 640, 500, 100), (600, 300, 60, 520), (256, 256, 128, 40), (50, 60, 10, 40)],
)
def test_letterbox_round_trips_a_point(height: int, width: int, x: int, y: int) -> None:
    tensor, transform = blazeface.letterbox(_dot_image(height, width, x, y), 128)
    assert tensor.shape == (1, 128, 128, 3)
    assert tensor.dtype == np.float32
    assert tensor.min() == pytest.approx(-1.0)
    assert tensor.max() > -0.5  # the dot survives resizing
    back_px = transform.norm_to_source_px(_dot_centre_norm(tensor))
    # The dot covers pixels x-2..x+2, so its centre is at x + 0.5 in continuous px.
    tolerance_px = 0.5 / min(transform.scale_x, transform.scale_y)
    np.testing.assert_allclose(back_px, [x + 0.5, y + 0.5], atol=tolerance_px)
    np.testing.assert_allclose(
        transform.source_px_to_norm(back_px), _dot_centre_norm(tensor), atol=1e-9
    )


def test_letterbox_pads_the_short_side_symmetrically() -> None:
    tensor, transform = blazeface.letterbox(np.full((480, 640, 3), 255, np.uint8), 128)
    assert (transform.pad_x_px, transform.pad_y_px) == (0.0, 16.0)
    assert np.all(tensor[0, :16] == -1.0) and np.all(tensor[0, -16:] == -1.0)
    assert np.all(tensor[0, 16:-16] == 1.0)
    # The image corners land on the letterbox's inner corners.
    np.testing.assert_allclose(
        transform.norm_to_source_px([[0.0, 16 / 128], [1.0, 112 / 128]]), [[0, 0], [640, 480]]
    )


def test_letterbox_rejects_non_rgb_input() -> None:
    with pytest.raises(ValueError, match="uint8 RGB"):
        blazeface.letterbox(np.zeros((10, 10), np.uint8), 128)
    with pytest.raises(ValueError, match="uint8 RGB"):
        blazeface.letterbox(np.zeros((10, 10, 3), np.float32), 128)


def test_decode_a_hand_built_detection() -> None:
    n = SHORT_RANGE.num_anchors
    raw_boxes = np.zeros((1, n, 16), np.float32)
    raw_scores = np.full((1, n, 1), -10.0, np.float32)
    k = 100  # stride-8 anchor: cell (x=2, y=3), centre (2.5/16, 3.5/16)
    anchor = np.array([2.5 / 16, 3.5 / 16])
    np.testing.assert_allclose(SHORT_RANGE.anchors_norm_xy[k], anchor)
    raw_boxes[0, k, :4] = [6.4, -12.8, 32.0, 16.0]  # centre offset and size, input px
    raw_boxes[0, k, 4:] = np.arange(12) - 6.0  # keypoint offsets, input px
    raw_scores[0, k, 0] = 2.0

    found = blazeface.decode(raw_boxes, raw_scores, SHORT_RANGE, min_score=0.5)

    assert len(found) == 1
    assert found.scores[0] == pytest.approx(1 / (1 + np.exp(-2.0)))
    centre = anchor + [0.05, -0.1]
    np.testing.assert_allclose(
        found.boxes_norm[0],
        [centre[0] - 0.125, centre[1] - 0.0625, centre[0] + 0.125, centre[1] + 0.0625],
        atol=1e-6,
    )
    expected_keypoints = (np.arange(12) - 6.0).reshape(6, 2) / 128 + anchor
    np.testing.assert_allclose(found.keypoints_norm[0], expected_keypoints, atol=1e-6)
    assert len(blazeface.decode(raw_boxes, raw_scores, SHORT_RANGE, min_score=0.9)) == 0


def test_decode_rejects_the_wrong_anchor_count() -> None:
    with pytest.raises(ValueError, match="896 anchors"):
        blazeface.decode(np.zeros((2304, 16)), np.zeros((2304, 1)), SHORT_RANGE, 0.5)


def test_sigmoid_clips_huge_logits_without_overflow() -> None:
    with np.errstate(all="raise"):
        scores = blazeface.sigmoid_scores([-1e6, -1.0, 0.0, 1e6], raw_score_limit=100.0)
    np.testing.assert_allclose(scores, [1 / (1 + np.exp(100.0)), 1 / (1 + np.e), 0.5, 1.0])
    assert scores[0] > 0.0  # clipped at -100, not -1e6
    # The limit really is applied: a tighter one caps the score.
    assert blazeface.sigmoid_scores([50.0], raw_score_limit=1.0)[0] == pytest.approx(
        1 / (1 + np.exp(-1.0))
    )


def test_weighted_nms_merges_overlapping_boxes_by_score() -> None:
    boxes = np.array([[0.10, 0.10, 0.30, 0.30], [0.12, 0.12, 0.32, 0.32]])
    keypoints = np.stack([np.full((6, 2), 0.2), np.full((6, 2), 0.3)])
    scores = np.array([0.6, 0.9])

    merged = blazeface.weighted_nms(boxes, keypoints, scores, iou_threshold=0.3)

    assert len(merged) == 1
    assert merged.scores[0] == pytest.approx(0.9)  # the best score, not an average
    weights = scores / scores.sum()
    np.testing.assert_allclose(merged.boxes_norm[0], weights @ boxes)
    np.testing.assert_allclose(merged.keypoints_norm[0], np.full((6, 2), 0.2 * 0.4 + 0.3 * 0.6))


def test_weighted_nms_keeps_separate_boxes_sorted_by_score() -> None:
    boxes = np.array([[0.1, 0.1, 0.3, 0.3], [0.6, 0.6, 0.9, 0.9], [0.1, 0.1, 0.3, 0.3]])
    keypoints = np.zeros((3, 6, 2))
    scores = np.array([0.7, 0.8, 0.6])

    kept = blazeface.weighted_nms(boxes, keypoints, scores, iou_threshold=0.3)

    assert len(kept) == 2
    np.testing.assert_allclose(kept.scores, [0.8, 0.7])
    np.testing.assert_allclose(kept.boxes_norm[0], boxes[1])
    np.testing.assert_allclose(kept.boxes_norm[1], boxes[0])  # boxes 0 and 2 merged


def test_weighted_nms_of_nothing_is_empty() -> None:
    empty = blazeface.weighted_nms(np.zeros((0, 4)), np.zeros((0, 6, 2)), np.zeros(0), 0.3)
    assert len(empty) == 0
    assert empty.boxes_norm.shape == (0, 4)
    assert empty.keypoints_norm.shape == (0, 6, 2)


def test_faces_from_raw_maps_to_source_pixels() -> None:
    n = SHORT_RANGE.num_anchors
    raw_boxes = np.zeros((n, 16))
    raw_scores = np.full((n, 1), -10.0)
    k = 512 + 6 * (8 * 4 + 4)  # stride-16 anchor at cell (4, 4): centre (0.5625, 0.5625)
    raw_boxes[k, 2:4] = [32.0, 32.0]  # a 0.25 × 0.25 box
    raw_scores[k, 0] = 3.0
    # A 640×480 frame letterboxed into 128: scale 0.2, 16 px of padding top and bottom.
    transform = LetterboxTransform(128, scale_x=0.2, scale_y=0.2, pad_x_px=0.0, pad_y_px=16.0)

    (face,) = blazeface.faces_from_raw(raw_boxes, raw_scores, SHORT_RANGE, transform, 0.5)

    centre_x = 0.5625 * 128 / 0.2
    centre_y = (0.5625 * 128 - 16) / 0.2
    np.testing.assert_allclose(
        face.box_px, [centre_x - 80, centre_y - 80, centre_x + 80, centre_y + 80]
    )
    np.testing.assert_allclose(face.keypoints_px, [(centre_x, centre_y)] * 6)
    assert face.score == pytest.approx(1 / (1 + np.exp(-3.0)))


@pytest.mark.parametrize(
    ("region", "x", "y"),
    [
        ((100, 50, 400, 350), 250, 120),
        ((0, 0, 640, 480), 500, 100),
        ((320, 240, 640, 300), 600, 260),
    ],
)
def test_letterbox_of_a_region_maps_back_to_the_whole_image(
    region: tuple[int, int, int, int], x: int, y: int
) -> None:
    image = _dot_image(480, 640, x, y)
    tensor, transform = blazeface.letterbox(image, 128, region_px=region)
    assert (transform.offset_x_px, transform.offset_y_px) == region[:2]
    back_px = transform.norm_to_source_px(_dot_centre_norm(tensor))
    tolerance_px = 0.5 / min(transform.scale_x, transform.scale_y)
    np.testing.assert_allclose(back_px, [x + 0.5, y + 0.5], atol=tolerance_px)
    np.testing.assert_allclose(
        transform.source_px_to_norm(back_px), _dot_centre_norm(tensor), atol=1e-9
    )
    # The same as letterboxing a copy of the region, only shifted.
    crop = np.ascontiguousarray(image[region[1] : region[3], region[0] : region[2]])
    crop_tensor, crop_transform = blazeface.letterbox(crop, 128)
    np.testing.assert_array_equal(tensor, crop_tensor)
    assert crop_transform.scale_x == transform.scale_x


@pytest.mark.parametrize(
    "region", [(0, 0, 0, 10), (10, 10, 5, 20), (-1, 0, 10, 10), (0, 0, 641, 480), (0, 470, 10, 481)]
)
def test_letterbox_refuses_a_region_outside_the_image(region: tuple[int, int, int, int]) -> None:
    with pytest.raises(ValueError, match="not inside the 640x480 image"):
        blazeface.letterbox(np.zeros((480, 640, 3), np.uint8), 128, region_px=region)
