"""Sclera fill, painting grain and the radial fill of a half-hidden iris."""

from __future__ import annotations

import numpy as np
import pytest

from build_frames import eye_fill


def test_interpolate_rows_is_linear_between_known_pixels():
    values = np.zeros((3, 5, 3), np.float32)
    known = np.zeros((3, 5), bool)
    values[1, 0], values[1, 4] = 0.0, 100.0
    known[1, [0, 4]] = True
    out = eye_fill.interpolate_rows(values, known)
    assert out[1, :, 0] == pytest.approx([0, 25, 50, 75, 100])
    assert out[0, 2, 0] == pytest.approx(50) and out[2, 2, 0] == pytest.approx(50)


def test_sclera_fill_meets_the_sclera_on_both_sides_and_keeps_row_shading():
    h, w = 30, 60
    rows = np.linspace(120, 220, h, dtype=np.float32)[:, None, None]  # darker at the top
    rgb = np.broadcast_to(rows, (h, w, 3)).astype(np.float32).copy()
    rgb[:, 20:40] = 20.0  # the iris
    sclera = np.ones((h, w), bool)
    sclera[:, 17:43] = False
    fill = eye_fill.sclera_fill(rgb, sclera, iris_radius_px=10.0, axis_angle_deg=0.0)
    middle = fill[5:25, 30, 0]
    assert middle == pytest.approx(rows[5:25, 0, 0], abs=4.0)


def test_sclera_fill_without_samples_is_the_mean_colour():
    rgb = np.full((10, 10, 3), 80.0, np.float32)
    fill = eye_fill.sclera_fill(rgb, np.zeros((10, 10), bool), 3.0, 0.0)
    assert np.allclose(fill, 80.0)


def test_grain_matches_the_measured_spread_and_is_repeatable():
    rng = np.random.default_rng(0)
    rgb = (128 + rng.normal(0, 5, (64, 64, 3))).astype(np.float32)
    std = eye_fill.grain_std(rgb, np.ones((64, 64), bool))
    assert 2.0 < float(std.mean()) <= eye_fill.MAX_GRAIN_STD
    a, b = eye_fill.grain((32, 32), std), eye_fill.grain((32, 32), std)
    assert np.array_equal(a, b)
    assert a.std(axis=(0, 1)) == pytest.approx(std, rel=0.15)


def test_radial_fill_completes_a_half_hidden_iris_ring_by_ring():
    size = 41
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    rho = np.hypot(xx - 20.5, yy - 20.5)
    rgb = np.where(rho[..., None] < 8, 30.0, 90.0).astype(np.float32) * np.ones(3, np.float32)
    visible = yy > 20.5  # the upper half is under the lid
    hidden = rgb.copy()
    hidden[~visible] = 255.0
    filled = eye_fill.radial_profile_fill(hidden, visible, (20.5, 20.5), 16.0)
    assert np.array_equal(filled[visible], hidden[visible])
    assert filled[14, 20, 0] == pytest.approx(30.0)  # inside the pupil ring, above
    assert filled[2, 20, 0] == pytest.approx(90.0)
