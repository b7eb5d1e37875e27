"""Moving an iris inside a drawn eye: lids keep covering, the iris keeps its pixels."""

from __future__ import annotations

import math

import numpy as np
import pytest

from build_frames.analysis import Eye
from build_frames.eyes import prepare_eye, render_eye

CENTRE = (100.0, 60.0)
IRIS_R = 14.0
SKIN, SCLERA, IRIS = (200, 160, 130), (230, 225, 220), (70, 50, 40)


def eye_polygon(cx: float, cy: float, a: float, b: float) -> np.ndarray:
    """16 points: lower lid from the image-left corner to the right one, then the upper
    lid back (corners excluded), as the iris model gives them."""
    lower = [(cx - a * math.cos(t), cy + b * math.sin(t)) for t in np.linspace(0, math.pi, 9)]
    upper = [(cx + a * math.cos(t), cy - b * math.sin(t)) for t in np.linspace(0, math.pi, 9)[1:-1]]
    return np.array(lower + upper)


def drawn_eye() -> tuple[np.ndarray, Eye]:
    """A 120x200 picture: skin, an almond opening whose lids hide the iris's top and
    bottom, white sclera, a textured dark iris with a catch-light."""
    rng = np.random.default_rng(5)
    image = np.empty((120, 200, 3), np.float32)
    image[:] = SKIN
    yy, xx = np.mgrid[0:120, 0:200] + 0.5
    inside = ((xx - CENTRE[0]) / 50) ** 2 + ((yy - CENTRE[1]) / 11) ** 2 < 1
    image[inside] = SCLERA
    iris = inside & (np.hypot(xx - CENTRE[0], yy - CENTRE[1]) < IRIS_R)
    image[iris] = np.array(IRIS) + rng.normal(0, 12, (int(iris.sum()), 3))
    image[(abs(xx - 96) < 2) & (abs(yy - 56) < 2)] = 255  # catch-light
    eye = Eye("right", eye_polygon(*CENTRE, 50, 11), np.array(CENTRE), IRIS_R)
    return np.clip(image, 0, 255).astype(np.uint8), eye


def dark_centroid_x(region: np.ndarray) -> float:
    dark = region.astype(float).sum(axis=2) < 300
    return float(np.nonzero(dark)[1].mean())


def test_outside_the_opening_nothing_changes_for_any_shift():
    image, eye = drawn_eye()
    layer = prepare_eye(image, eye)
    base = image[layer.rect.slices]
    for dx in (-20.0, -7.0, 0.0, 9.0, 20.0):
        out = render_eye(layer, np.array([dx, 0.0]))
        assert np.array_equal(out[layer.opening == 0], base[layer.opening == 0])


def test_at_rest_the_eye_is_the_original():
    image, eye = drawn_eye()
    layer = prepare_eye(image, eye)
    base = image[layer.rect.slices]
    assert np.array_equal(render_eye(layer, np.array([0.3, -0.4])), base)
    moved = render_eye(layer, np.array([1.0, 0.0]))
    yy, xx = np.mgrid[0 : layer.rect.height, 0 : layer.rect.width] + 0.5
    core = np.hypot(xx + layer.rect.x - CENTRE[0], yy + layer.rect.y - CENTRE[1]) < 0.8 * IRIS_R
    core &= layer.opening >= 1.0
    assert np.array_equal(moved[:, 1:][core[:, 1:]], base[:, :-1][core[:, 1:]])


def test_shift_moves_the_iris_and_its_pixels_exactly_and_fills_with_sclera():
    image, eye = drawn_eye()
    layer = prepare_eye(image, eye)
    base = image[layer.rect.slices]
    out = render_eye(layer, np.array([8.0, 0.0]))
    assert dark_centroid_x(out) - dark_centroid_x(base) == pytest.approx(8.0, abs=1.0)
    # the iris's texture and catch-light moved by whole pixels, untouched
    cy, cx = int(CENTRE[1]) - layer.rect.y, int(CENTRE[0]) - layer.rect.x
    assert np.array_equal(
        out[cy - 6 : cy + 6, cx + 8 - 6 : cx + 8 + 6], base[cy - 6 : cy + 6, cx - 6 : cx + 6]
    )
    # where the iris's left edge was, the eye is now sclera-coloured
    uncovered = out[cy - 3 : cy + 3, cx - 12 : cx - 8].reshape(-1, 3).mean(axis=0)
    assert np.abs(uncovered - SCLERA).max() < 25


def test_lids_keep_covering_the_iris():
    image, eye = drawn_eye()
    layer = prepare_eye(image, eye)
    out = render_eye(layer, np.array([-10.0, 0.0]))
    lid_rows = out[: int(CENTRE[1] - 13) - layer.rect.y]  # above the upper lid
    base = image[layer.rect.slices][: int(CENTRE[1] - 13) - layer.rect.y]
    assert np.array_equal(lid_rows, base)
