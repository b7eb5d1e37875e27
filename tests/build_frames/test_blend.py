"""The sigmoid alpha (both shapes), its support, blending and colour matching."""

from __future__ import annotations

import numpy as np
import pytest

from build_frames import blend
from build_frames.errors import OptionError
from device.pack import PatchRect


def spec(
    shape: str = "ellipse",
    j: float | None = None,
    k: float | None = None,
    box: tuple[float, float, float, float] = (0, 0, 512, 512),
) -> blend.AlphaSpec:
    return blend.alpha_spec(shape, j, k, None, box)


def test_square_defaults_reproduce_the_original_mona_lisa_formula():
    s = spec("square")
    alpha = blend.alpha_map(s, PatchRect(0, 0, 512, 512))
    yy, xx = np.mgrid[0:512, 0:512] + 0.5  # pixel centres
    original = 1 / (1 + np.exp(0.06 * (np.maximum(abs(xx - 256), abs(yy - 256)) - 180)))
    original[original < blend.ALPHA_FLOOR] = 0.0
    assert np.abs(alpha - original).max() < 1e-5


def test_ellipse_alpha_is_half_at_k_and_falls_with_distance():
    s = spec(j=20.0, k=0.5)
    r = np.array([[0.0, 0.5, 1.0]], np.float32)
    alpha = blend.sigmoid_alpha(r, s.j, s.k)
    assert alpha[0, 0] > 0.99 and alpha[0, 1] == pytest.approx(0.5) and alpha[0, 2] < 0.01


def test_alpha_below_the_floor_is_exactly_zero_and_support_bounds_it():
    s = spec()
    assert (
        blend.sigmoid_alpha(np.array([[s.support_radius + 0.01]], np.float32), s.j, s.k)[0, 0] == 0
    )
    rect = blend.support_rect(s, (2000, 2000))
    big = blend.alpha_map(s, PatchRect(0, 0, 700, 700))
    outside = np.ones_like(big, bool)
    outside[rect.y : rect.y + rect.height, rect.x : rect.x + rect.width] = False
    assert not big[outside].any()


def test_default_ellipse_is_invisible_at_the_head_box_edge():
    s = spec()
    r = np.array([[1.0]], np.float32)
    assert blend.sigmoid_alpha(r, s.j, s.k)[0, 0] == 0.0


def test_bad_alpha_options_name_the_option():
    with pytest.raises(OptionError, match="--alpha-j -1"):
        spec(j=-1.0)
    with pytest.raises(OptionError, match="--alpha-k 0"):
        spec(k=0.0)
    with pytest.raises(OptionError, match="--alpha-shape 'round'"):
        spec("round")


def test_blend_keeps_the_base_exactly_where_alpha_is_zero():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    gen = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    alpha = np.zeros((20, 30), np.float32)
    alpha[5:10, 5:10] = 1.0
    out = blend.blend(base, gen, alpha)
    assert np.array_equal(out[alpha == 0], base[alpha == 0])
    assert np.array_equal(out[5:10, 5:10], gen[5:10, 5:10])


def test_crop_edge_taper_is_zero_at_and_outside_the_crop_edge():
    crop = PatchRect(10, 10, 100, 100)
    taper = blend.crop_edge_taper(PatchRect(0, 0, 120, 120), crop)
    assert taper[60, 60] == 1.0
    assert 0.0 < taper[10, 60] < 0.5  # the first row inside the crop
    assert taper[9, 60] == 0.0 and taper[60, 110] == 0.0 and taper[60, 109] > 0.0


def test_colour_matching_moves_statistics_onto_the_painting():
    rng = np.random.default_rng(2)
    painting = np.clip(rng.normal([150, 110, 60], 12, (40, 40, 3)), 0, 255).astype(np.uint8)
    head = np.clip(rng.normal([90, 120, 170], 30, (40, 40, 3)), 0, 255).astype(np.uint8)
    weight = np.ones((40, 40), np.float32)
    (matched,) = blend.match_colours([head], painting, weight)
    assert np.abs(matched.mean(axis=(0, 1)) - painting.mean(axis=(0, 1))).max() < 6
    assert np.abs(head.mean(axis=(0, 1)) - painting.mean(axis=(0, 1))).max() > 40
    assert blend.match_colours([], painting, weight) == []
