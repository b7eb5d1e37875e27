"""Crop transforms (pixel-centre conventions), rectangles and masks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from build_frames import geometry
from device.pack import PatchRect


def test_crop_affine_maps_corners_and_centre():
    affine = geometry.crop_affine((50.0, 40.0), 20.0, 0.0, 10)
    assert geometry.apply_affine(affine, [[0, 0], [10, 10], [5, 5]]) == pytest.approx(
        np.array([[40.0, 30.0], [60.0, 50.0], [50.0, 40.0]])
    )


def test_crop_affine_rotation_turns_the_crop_x_axis_toward_y():
    affine = geometry.crop_affine((0.0, 0.0), 10.0, math.pi / 2, 10)
    x_axis = geometry.apply_affine(affine, [[6, 5]])[0] - geometry.apply_affine(affine, [[5, 5]])[0]
    assert x_axis == pytest.approx([0.0, 1.0])


def test_warp_crop_puts_a_pixel_where_the_affine_says():
    image = np.zeros((60, 80, 3), np.uint8)
    image[22, 31] = 255  # pixel centre at (31.5, 22.5) px
    affine = geometry.crop_affine((32.0, 23.0), 8.0, 0.0, 8)  # 1 px per crop pixel
    crop = geometry.warp_crop(image, affine, 8)
    ys, xs = np.nonzero(crop[..., 0])
    assert (list(xs), list(ys)) == ([3], [3]) and crop[3, 3, 0] == 255
    back = geometry.apply_affine(affine, [[xs[0] + 0.5, ys[0] + 0.5]])[0]
    assert back == pytest.approx([31.5, 22.5])


def test_angle_of():
    assert geometry.angle_of((0, 0), (1, 1)) == pytest.approx(math.pi / 4)


def test_rectangles():
    assert geometry.rect_from_bounds(-3.2, 1.5, 10.1, 8.0, (8, 20)) == PatchRect(0, 1, 8, 7)
    with pytest.raises(ValueError, match="outside"):
        geometry.rect_from_bounds(30, 30, 40, 40, (20, 20))
    union = geometry.rect_union([PatchRect(1, 2, 3, 4), PatchRect(10, 0, 2, 2)])
    assert union == PatchRect(1, 0, 11, 6)
    assert geometry.rect_grow(PatchRect(1, 1, 2, 2), 3, (5, 5)) == PatchRect(0, 0, 5, 5)


def test_mask_bounds():
    mask = np.zeros((10, 12), bool)
    assert geometry.mask_bounds(mask) is None
    mask[3:5, 7] = True
    assert geometry.mask_bounds(mask) == (7, 3, 8, 5)


def test_polygon_mask_covers_the_polygon_area():
    square = [(2.0, 2.0), (12.0, 2.0), (12.0, 12.0), (2.0, 12.0)]
    mask = geometry.polygon_mask(square, (0, 0), (16, 16))
    assert float(mask.sum()) == pytest.approx(100.0, abs=3.0)  # edges within 1/8 px
    assert mask[7, 7] == 1.0 and mask[0, 0] == 0.0
    shifted = geometry.polygon_mask([(x + 5, y + 5) for x, y in square], (5, 5), (16, 16))
    assert np.array_equal(mask, shifted)


def test_disc_mask_ramp():
    disc = geometry.disc_mask((10.0, 10.0), 5.0, 2.0, (0, 0), (21, 21))
    assert disc[9, 9] == 1.0 and disc[0, 0] == 0.0
    assert float(disc.sum()) == pytest.approx(math.pi * 25, rel=0.05)
