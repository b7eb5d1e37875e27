"""The screen: shows the painting and swaps only the head patch when the gaze moves.

Everything is scaled and rotated ONCE at load (see device/layout.py for the rotation
convention and how patches stay seamless); show() then blits one small, pre-converted
surface and updates only its rectangle, which is what keeps a Pi's frame time low.
"""

from __future__ import annotations

import os
import time
from types import TracebackType
from typing import Protocol

import numpy as np

from device.errors import DisplayError
from device.layout import (
    VALID_ROTATIONS,
    PxRect,
    fit_painting,
    patch_screen_rect,
    screen_base,
    screen_patch,
)
from device.pack import FramePack

# pygame prints a banner on import unless told not to; the service's log stays clean.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

# A window (not fullscreen) without an explicit size fits the painting into this
# fraction of the desktop, leaving room for the desktop's own panels.
WINDOW_FRACTION_OF_DESKTOP = 0.8
BLANK_RGB = (0, 0, 0)
QUIT_KEYS = (pygame.K_ESCAPE, pygame.K_q)
_DRIVER_HINT = "set display.driver (e.g. kmsdrm on a Pi console, x11, dummy for tests)"


class Display(Protocol):
    """The display seam: PygameDisplay below, fakes in tests and benches."""

    def show(self, frame_index: int) -> None:
        """Show frame `frame_index` of the pack (nothing happens if it already shows)."""
        ...

    def set_blank(self, blank: bool) -> None:
        """Blank the screen (black) or wake it with the current frame."""
        ...

    def poll_quit(self) -> bool:
        """Handle pending window events; True if the person asked to quit."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Display: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def _surface(rgb: np.ndarray) -> pygame.Surface:
    """An (H, W, 3) uint8 RGB array as a surface in the display's pixel format."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    return pygame.image.frombytes(rgb.tobytes(), (rgb.shape[1], rgb.shape[0]), "RGB").convert()


class PygameDisplay:
    """A pack shown full-screen (or in a window) through pygame-ce / SDL2.

    rotation: degrees the panel is turned clockwise (see device/layout.py).
    border_rgb: colour of the letterbox bars around the painting.
    fullscreen: use the whole desktop (the console on a Pi); window_size is then not allowed.
    window_size: (width, height) of the window when not fullscreen; default: the
        painting fitted into WINDOW_FRACTION_OF_DESKTOP of the desktop.
    driver: SDL video driver to use (SDL_VIDEODRIVER), e.g. "kmsdrm", "x11", "dummy".

    pygame has one display, so only one PygameDisplay may be open at a time.
    """

    def __init__(
        self,
        pack: FramePack,
        rotation: int = 0,
        border_rgb: tuple[int, int, int] = (0, 0, 0),
        fullscreen: bool = True,
        window_size: tuple[int, int] | None = None,
        driver: str | None = None,
    ) -> None:
        if rotation not in VALID_ROTATIONS:
            raise DisplayError(f"rotation {rotation!r} is not one of {list(VALID_ROTATIONS)}")
        if fullscreen and window_size is not None:
            raise DisplayError(f"window_size {window_size!r} needs fullscreen = false")
        if driver:
            os.environ["SDL_VIDEODRIVER"] = driver
        self._screen = self._open_screen(pack, rotation, fullscreen, window_size)
        try:
            self._border_rgb = border_rgb
            self._n_frames = pack.n_frames
            layout = fit_painting(pack.base_size, self._screen.get_size(), rotation)
            patch_base_px = PxRect(pack.patch.x, pack.patch.y, pack.patch.width, pack.patch.height)
            self._painting_rect = pygame.Rect(layout.painting_screen_px.as_tuple())
            self._patch_rect = pygame.Rect(patch_screen_rect(layout, patch_base_px).as_tuple())
            self._base = _surface(screen_base(layout, pack.base))
            self._patches = tuple(
                _surface(screen_patch(layout, pack.full_frame(i), patch_base_px))
                for i in range(pack.n_frames)
            )
        except BaseException:
            pygame.display.quit()
            raise
        self._shown: int | None = None
        self._blank = False
        self._closed = False
        self.update_count = 0
        self.last_update_seconds = 0.0
        self._redraw()

    @staticmethod
    def _open_screen(
        pack: FramePack, rotation: int, fullscreen: bool, window_size: tuple[int, int] | None
    ) -> pygame.Surface:
        try:
            pygame.display.init()
            if fullscreen:
                screen = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
            else:
                screen = pygame.display.set_mode(window_size or _default_window(pack, rotation))
            pygame.display.set_caption("mona-frame")
            pygame.mouse.set_visible(False)
        except pygame.error as exc:
            pygame.display.quit()
            driver = os.environ.get("SDL_VIDEODRIVER", "(SDL's default)")
            raise DisplayError(
                f"cannot open the display with SDL video driver {driver!r} ({exc}) — "
                f"no display: {_DRIVER_HINT}"
            ) from None
        return screen

    @property
    def shown(self) -> int | None:
        """The frame index on screen (or shown on waking), None while only the base shows."""
        return self._shown

    def show(self, frame_index: int) -> None:
        if not 0 <= frame_index < self._n_frames:
            raise IndexError(f"frame {frame_index} is outside the pack's 0..{self._n_frames - 1}")
        if frame_index == self._shown:
            return
        self._shown = frame_index
        if self._blank:
            return
        start = time.perf_counter()
        self._screen.blit(self._patches[frame_index], self._patch_rect)
        pygame.display.update(self._patch_rect)
        self.last_update_seconds = time.perf_counter() - start
        self.update_count += 1

    def set_blank(self, blank: bool) -> None:
        if blank != self._blank:
            self._blank = blank
            self._redraw()

    def poll_quit(self) -> bool:
        quit_asked = False
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                quit_asked = True
            elif event.type == pygame.KEYDOWN and event.key in QUIT_KEYS:
                quit_asked = True
            elif event.type == pygame.WINDOWEXPOSED:
                self._redraw()
        return quit_asked

    def screen_rgb(self) -> np.ndarray:
        """(H, W, 3) uint8 RGB copy of what the screen shows (tests and debugging)."""
        return np.ascontiguousarray(pygame.surfarray.array3d(self._screen).transpose(1, 0, 2))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            pygame.display.quit()

    def __enter__(self) -> PygameDisplay:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _redraw(self) -> None:
        """Paint the whole screen: black when blank, else border, base and current patch."""
        if self._blank:
            self._screen.fill(BLANK_RGB)
        else:
            self._screen.fill(self._border_rgb)
            self._screen.blit(self._base, self._painting_rect)
            if self._shown is not None:
                self._screen.blit(self._patches[self._shown], self._patch_rect)
        pygame.display.flip()
        self.update_count += 1


def _default_window(pack: FramePack, rotation: int) -> tuple[int, int]:
    """The painting fitted into WINDOW_FRACTION_OF_DESKTOP of the first desktop."""
    desktop_w, desktop_h = pygame.display.get_desktop_sizes()[0]
    room = (
        max(1, int(desktop_w * WINDOW_FRACTION_OF_DESKTOP)),
        max(1, int(desktop_h * WINDOW_FRACTION_OF_DESKTOP)),
    )
    rect = fit_painting(pack.base_size, room, rotation).painting_screen_px
    return rect.width, rect.height
