from __future__ import annotations

import numpy as np
import pytest

from device.layout import (
    VALID_ROTATIONS,
    PxRect,
    fit_painting,
    patch_screen_rect,
    rotate_image,
    rotate_rect,
    scaled_patch_rect,
    screen_base,
    screen_patch,
)


def _painting(width: int, height: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_fit_keeps_the_aspect_ratio_and_fills_one_side() -> None:
    layout = fit_painting((300, 400), (1920, 1080), rotation=0)
    assert layout.scaled_wh == (810, 1080)
    assert layout.painting_screen_px == PxRect(555, 0, 810, 1080)


def test_fit_with_the_panel_turned_uses_the_swapped_screen() -> None:
    # A portrait painting on a landscape panel hung in portrait fills the panel's width.
    layout = fit_painting((1080, 1920), (1920, 1080), rotation=90)
    assert layout.scaled_wh == (1080, 1920)
    assert layout.painting_screen_px == PxRect(0, 0, 1920, 1080)


@pytest.mark.parametrize("rotation", VALID_ROTATIONS)
@pytest.mark.parametrize(
    ("base_wh", "screen_wh"),
    [((300, 400), (1920, 1080)), ((640, 480), (800, 800)), ((517, 911), (1366, 768))],
)
def test_letterbox_is_centred_and_inside_the_screen(
    rotation: int, base_wh: tuple[int, int], screen_wh: tuple[int, int]
) -> None:
    layout = fit_painting(base_wh, screen_wh, rotation)
    rect = layout.painting_screen_px
    assert rect.x >= 0 and rect.y >= 0
    assert rect.right <= screen_wh[0] and rect.bottom <= screen_wh[1]
    assert abs(rect.x - (screen_wh[0] - rect.right)) <= 1
    assert abs(rect.y - (screen_wh[1] - rect.bottom)) <= 1
    assert rect.x == 0 or rect.y == 0  # scaled as large as fits
    sw, sh = layout.scaled_wh
    assert abs(sw / sh - base_wh[0] / base_wh[1]) < 2 / min(sw, sh)


@pytest.mark.parametrize("rotation", VALID_ROTATIONS)
def test_rotate_rect_follows_rotate_image(rotation: int) -> None:
    image = np.zeros((30, 50, 1), np.uint8)
    rect = PxRect(7, 4, 11, 9)
    image[rect.slices] = 1
    rows, cols = np.nonzero(rotate_image(image, rotation)[..., 0])
    got = rotate_rect(rect, (50, 30), rotation)
    assert got == PxRect(
        cols.min(), rows.min(), cols.max() + 1 - cols.min(), rows.max() + 1 - rows.min()
    )


@pytest.mark.parametrize(
    ("rotation", "top_left_corner_rc", "top_edge"),
    [
        (0, (0, 0), "top"),
        (90, (-1, 0), "left"),  # panel turned clockwise: painting's top on the panel's left
        (180, (-1, -1), "bottom"),
        (270, (0, -1), "right"),
    ],
)
def test_rotation_direction(
    rotation: int, top_left_corner_rc: tuple[int, int], top_edge: str
) -> None:
    image = np.zeros((4, 6, 3), np.uint8)
    image[0, :, 1] = 255  # the painting's top row is green
    image[0, 0] = (255, 255, 0)  # its top-left pixel is yellow
    turned = rotate_image(image, rotation)
    assert tuple(turned[top_left_corner_rc]) == (255, 255, 0)
    edge = {"top": turned[0], "bottom": turned[-1], "left": turned[:, 0], "right": turned[:, -1]}
    assert (edge[top_edge][:, 1] == 255).all()


@pytest.mark.parametrize("rotation", VALID_ROTATIONS)
@pytest.mark.parametrize(
    ("base_wh", "screen_wh", "patch"),
    [
        ((300, 400), (1024, 600), PxRect(100, 80, 90, 70)),  # enlarged
        ((1200, 1600), (800, 480), PxRect(400, 300, 301, 257)),  # shrunk
        ((300, 400), (1024, 600), PxRect(0, 0, 300, 60)),  # patch on the painting's edge
    ],
)
def test_patch_rect_covers_the_patch_and_stays_on_the_painting(
    rotation: int, base_wh: tuple[int, int], screen_wh: tuple[int, int], patch: PxRect
) -> None:
    layout = fit_painting(base_wh, screen_wh, rotation)
    screen_rect = patch_screen_rect(layout, patch)
    painting = layout.painting_screen_px
    assert painting.x <= screen_rect.x and screen_rect.right <= painting.right
    assert painting.y <= screen_rect.y and screen_rect.bottom <= painting.bottom
    # The exact (fractional) scaled patch lies inside the whole-pixel one.
    scaled = scaled_patch_rect(layout, patch)
    scale = layout.scaled_wh[0] / base_wh[0]
    assert scaled.x <= patch.x * scale and patch.right * scale <= scaled.right
    assert scaled.y <= patch.y * scale + 1e-9 and patch.bottom * scale <= scaled.bottom + 1e-9


@pytest.mark.parametrize("rotation", VALID_ROTATIONS)
def test_patch_corners_land_in_the_rotated_corners(rotation: int) -> None:
    # Patch = the painting's top-left quarter, screen = painting size: no scaling, no bars.
    layout = fit_painting((200, 100), (200, 100) if rotation in (0, 180) else (100, 200), rotation)
    rect = patch_screen_rect(layout, PxRect(0, 0, 100, 50))
    w, h = layout.screen_wh
    expected_corner = {0: (0, 0), 90: (0, h), 180: (w, h), 270: (w, 0)}[rotation]
    corners = {
        (rect.x, rect.y),
        (rect.right, rect.y),
        (rect.x, rect.bottom),
        (rect.right, rect.bottom),
    }
    assert expected_corner in corners


@pytest.mark.parametrize("rotation", VALID_ROTATIONS)
@pytest.mark.parametrize(
    ("base_wh", "screen_wh"), [((300, 400), (1024, 600)), ((900, 1200), (640, 480))]
)
def test_patch_pasted_on_the_base_equals_the_whole_scaled_frame(
    rotation: int, base_wh: tuple[int, int], screen_wh: tuple[int, int]
) -> None:
    base = _painting(*base_wh, seed=1)
    patch = PxRect(base_wh[0] // 3, base_wh[1] // 4, base_wh[0] // 3 + 1, base_wh[1] // 5 + 3)
    frame = base.copy()
    frame[patch.slices] = _painting(patch.width, patch.height, seed=2)
    layout = fit_painting(base_wh, screen_wh, rotation)
    painting = layout.painting_screen_px

    shown = screen_base(layout, base)
    rect = patch_screen_rect(layout, patch).moved(-painting.x, -painting.y)
    shown[rect.slices] = screen_patch(layout, frame, patch)

    np.testing.assert_array_equal(shown, screen_base(layout, frame))  # no seam anywhere
