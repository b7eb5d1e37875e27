from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from device.display import PygameDisplay
from device.errors import DisplayError
from device.layout import RESAMPLE_SUPPORT_BASE_PX, PxRect, fit_painting, patch_screen_rect
from device.pack import FramePack, PatchRect, load_pack, write_pack

BASE_WH = (120, 160)  # a portrait painting, (width, height) px
PATCH = PatchRect(x=30, y=40, width=60, height=50)
FRAME_RGB = ((255, 0, 0), (0, 255, 0), (0, 0, 255))
BORDER_RGB = (10, 20, 30)
# Landscape: an upright painting gets bars left and right, a turned one top and bottom.
WINDOW_WH = (400, 360)
# Pixels this far inside a painting's edge are clear of resampling blur at the edge.
INSET_PX = 6


@pytest.fixture(autouse=True)
def _dummy_video(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")


@pytest.fixture
def pack(tmp_path: Path) -> FramePack:
    """Base: grey with a yellow bottom quarter; frame i's patch is FRAME_RGB[i]."""
    base = np.full((BASE_WH[1], BASE_WH[0], 3), 128, np.uint8)
    base[BASE_WH[1] * 3 // 4 :] = (255, 255, 0)  # below the patch
    patches = [np.full((PATCH.height, PATCH.width, 3), rgb, np.uint8) for rgb in FRAME_RGB]
    return load_pack(write_pack(tmp_path / "pack", base, PATCH, patches, yaw_deg=(-10, 0, 10)))


@pytest.fixture
def display(pack: FramePack) -> Iterator[PygameDisplay]:
    with PygameDisplay(
        pack, border_rgb=BORDER_RGB, fullscreen=False, window_size=WINDOW_WH
    ) as shown:
        yield shown


def _inner_patch(
    rect: PxRect, screen_wh: tuple[int, int], rotation: int = 0
) -> tuple[slice, slice]:
    """The patch's screen rectangle less the resampling margin around the patch and its blur."""
    scale = fit_painting(BASE_WH, screen_wh, rotation).scaled_wh[0] / BASE_WH[0]
    inset = math.ceil((RESAMPLE_SUPPORT_BASE_PX + 1) * max(scale, 1.0)) + 2
    return slice(rect.y + inset, rect.bottom - inset), slice(rect.x + inset, rect.right - inset)


def _is(region: np.ndarray, rgb: tuple[int, int, int]) -> bool:
    return bool((np.abs(region.astype(int) - rgb) <= 2).all())


def _regions(rotation: int, screen_wh: tuple[int, int]) -> tuple[PxRect, PxRect]:
    layout = fit_painting(BASE_WH, screen_wh, rotation)
    patch = PxRect(PATCH.x, PATCH.y, PATCH.width, PATCH.height)
    return layout.painting_screen_px, patch_screen_rect(layout, patch)


@pytest.mark.parametrize("rotation", [0, 90])
def test_show_puts_the_frame_in_the_patch_and_keeps_the_base(
    pack: FramePack, rotation: int
) -> None:
    with PygameDisplay(
        pack, rotation, BORDER_RGB, fullscreen=False, window_size=WINDOW_WH
    ) as display:
        painting, patch = _regions(rotation, WINDOW_WH)
        for index, rgb in enumerate(FRAME_RGB):
            display.show(index)
            screen = display.screen_rgb()
            assert screen.shape == (WINDOW_WH[1], WINDOW_WH[0], 3)
            assert _is(screen[_inner_patch(patch, WINDOW_WH, rotation)], rgb)
        # Outside the patch: the base, upright to the viewer, and the letterbox border.
        if rotation == 0:
            top_of_painting = screen[painting.y + INSET_PX, painting.x + INSET_PX]
            bottom_of_painting = screen[painting.bottom - INSET_PX, painting.x + INSET_PX]
            assert painting.x > 0 and _is(screen[:, : painting.x], BORDER_RGB)
        else:  # panel turned clockwise: the painting's top lies along the panel's left
            top_of_painting = screen[painting.y + INSET_PX, painting.x + INSET_PX]
            bottom_of_painting = screen[painting.y + INSET_PX, painting.right - INSET_PX]
            assert painting.y > 0 and _is(screen[: painting.y, :], BORDER_RGB)
        assert _is(top_of_painting, (128, 128, 128))
        assert _is(bottom_of_painting, (255, 255, 0))


def test_letterbox_border_surrounds_the_painting(display: PygameDisplay) -> None:
    painting, _ = _regions(0, WINDOW_WH)
    screen = display.screen_rgb()
    assert painting.x > 0
    assert _is(screen[:, : painting.x], BORDER_RGB)
    assert _is(screen[:, painting.right :], BORDER_RGB)


def test_base_shows_before_any_frame(display: PygameDisplay) -> None:
    _, patch = _regions(0, WINDOW_WH)
    assert display.shown is None
    assert _is(display.screen_rgb()[_inner_patch(patch, WINDOW_WH)], (128, 128, 128))


def test_blank_turns_everything_black_and_wake_restores(display: PygameDisplay) -> None:
    display.show(1)
    before = display.screen_rgb()
    display.set_blank(True)
    assert not display.screen_rgb().any()
    display.show(2)  # remembered while blank, not drawn
    assert not display.screen_rgb().any()
    display.set_blank(False)
    _, patch = _regions(0, WINDOW_WH)
    after = display.screen_rgb()
    assert _is(after[_inner_patch(patch, WINDOW_WH)], FRAME_RGB[2])
    outside = np.ones(after.shape[:2], bool)
    outside[patch.slices] = False
    np.testing.assert_array_equal(after[outside], before[outside])


def test_showing_the_same_frame_twice_updates_once(display: PygameDisplay) -> None:
    display.show(0)
    count = display.update_count
    assert display.last_update_seconds > 0
    display.show(0)
    assert display.update_count == count
    display.show(1)
    assert display.update_count == count + 1


def test_show_rejects_an_unknown_frame(display: PygameDisplay) -> None:
    with pytest.raises(IndexError, match="0..2"):
        display.show(3)


def test_fullscreen_uses_the_desktop(pack: FramePack) -> None:
    with PygameDisplay(pack, rotation=90, driver="dummy") as display:
        display.show(0)
        screen = display.screen_rgb()
    assert screen.shape[0] > 0 and screen.shape[1] > 0
    screen_wh = (screen.shape[1], screen.shape[0])
    _, patch = _regions(90, screen_wh)
    assert _is(screen[_inner_patch(patch, screen_wh, 90)], FRAME_RGB[0])


def test_default_window_fits_the_painting(pack: FramePack) -> None:
    with PygameDisplay(pack, fullscreen=False) as display:
        height, width = display.screen_rgb().shape[:2]
    assert abs(width / height - BASE_WH[0] / BASE_WH[1]) < 0.02


def test_poll_quit_sees_window_close_and_quit_keys(display: PygameDisplay) -> None:
    import pygame

    assert display.poll_quit() is False
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q))
    assert display.poll_quit() is True
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    assert display.poll_quit() is True
    assert display.poll_quit() is False


def test_unusable_driver_says_how_to_fix_it(pack: FramePack) -> None:
    with pytest.raises(DisplayError, match="no-such-driver.*display.driver.*kmsdrm"):
        PygameDisplay(pack, driver="no-such-driver")


@pytest.mark.parametrize("rotation", [45, -90, 360])
def test_bad_rotation_lists_the_valid_ones(pack: FramePack, rotation: int) -> None:
    with pytest.raises(DisplayError, match=r"\[0, 90, 180, 270\]"):
        PygameDisplay(pack, rotation=rotation, fullscreen=False)


def test_window_size_needs_windowed_mode(pack: FramePack) -> None:
    with pytest.raises(DisplayError, match="fullscreen"):
        PygameDisplay(pack, window_size=WINDOW_WH)
