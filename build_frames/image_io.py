"""Reading a portrait from any common image file (or a built-in photo) as 8-bit RGB.

Pillow decodes the file because it refuses truncated files (OpenCV fills the missing
rows with grey and carries on) and knows every mode a painting scan comes in. The
EXIF orientation is applied, greyscale is expanded to RGB, transparency is composited
over white and 16-bit samples are scaled to 8 bits; each such step is noted so the
CLI can say what it did.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from build_frames.errors import BuildError, InputImageError

PILLOW_HINT = "pip install 'mona-frame[build]' (or pip install pillow)"
# Portraits named this way come from a package instead of a file (device.demo.face_photo).
BUILTIN_PREFIX = "builtin:"
BUILTIN_PORTRAITS = ("astronaut", "grace_hopper")
# Smallest side the face detector can work from: BlazeFace's short-range input is 128 px,
# and a face (at best about half the picture) needs ~64 px to be found at all.
MIN_IMAGE_SIDE_PX = 64
# Transparent pixels are composited over this (white: a cut-out portrait on paper).
TRANSPARENT_BACKGROUND_RGB = (255, 255, 255)
# EXIF tag 0x0112: 1 = upright, 2-8 = mirrored and/or rotated.
_EXIF_ORIENTATION = 0x0112
# A PNG's bit depth is byte 24: signature (8), IHDR length and type (8), width, height (8).
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_BIT_DEPTH_OFFSET = 24
# 16-bit samples map to 8 bits by dividing by 257 (65535 / 255), so both ends map exactly.
_UINT16_PER_UINT8 = 257.0
_UINT8_MAX = 255
_UINT16_MAX = 65535


@dataclass(frozen=True)
class Portrait:
    """A decoded portrait.

    rgb: (H, W, 3) uint8. sha256: of the file's bytes (of the RGB pixels for a built-in
    photo). source: what the person named. notes: conversions made on the way in.
    """

    rgb: npt.NDArray[np.uint8]
    sha256: str
    source: str
    notes: tuple[str, ...] = field(default=())

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) px."""
        return self.rgb.shape[1], self.rgb.shape[0]


def _builtin(source: str) -> Portrait:
    from device.demo import face_photo
    from device.errors import MonaFrameError

    name = source[len(BUILTIN_PREFIX) :]
    if name not in BUILTIN_PORTRAITS:
        raise InputImageError(
            f"{source!r}: unknown built-in portrait; choose one of "
            f"{[BUILTIN_PREFIX + n for n in BUILTIN_PORTRAITS]!r}"
        )
    try:
        rgb = face_photo(name)
    except MonaFrameError as exc:
        raise InputImageError(f"{source!r}: {exc}") from None
    return Portrait(np.ascontiguousarray(rgb), hashlib.sha256(rgb.tobytes()).hexdigest(), source)


def _to_uint8(samples: np.ndarray, mode: str) -> tuple[np.ndarray, str | None]:
    """Samples of any integer or float depth as uint8, and a note if they were rescaled.

    The scale follows the data's real bit depth, not its container's: 16-bit samples
    (uint16) divide by 257; wider integers (Pillow's 32-bit mode "I", which also holds
    8- and 16-bit data) are taken as 8-bit if no value exceeds 255, as 16-bit if none
    exceeds 65535, and otherwise (and floats always) are scaled so their maximum is 255.
    """
    if samples.dtype == np.uint8:
        return samples, None
    if samples.dtype == np.bool_:
        return samples.astype(np.uint8) * 255, None
    values = samples.astype(np.float64)
    top = float(values.max()) if values.size else 0.0
    if np.issubdtype(samples.dtype, np.integer):
        low = float(values.min()) if values.size else 0.0
        if samples.dtype.itemsize > 2 and low >= 0 and top <= _UINT8_MAX:
            return values.astype(np.uint8), f"{mode} with 8-bit values -> 8-bit"
        if low >= 0 and top <= _UINT16_MAX:
            return np.rint(values / _UINT16_PER_UINT8).astype(np.uint8), f"16-bit {mode} -> 8-bit"
    scale = 255.0 / top if top > 0 else 0.0
    return np.rint(np.clip(values * scale, 0, 255)).astype(np.uint8), f"{mode} scaled to 8-bit"


def pillow() -> Any:
    """The PIL package; BuildError naming the install if Pillow is missing."""
    try:
        import PIL.Image

        return PIL
    except ImportError:
        raise BuildError(f"reading images needs Pillow: {PILLOW_HINT}") from None


def _decode(data: bytes, where: str) -> tuple[np.ndarray, list[str]]:
    pillow()
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            rgb, notes = _upright_rgb8(opened)
            if _is_16_bit_png(data) and not any("16-bit" in n for n in notes):
                notes.append("16-bit PNG -> 8-bit")
            return rgb, notes
    except UnidentifiedImageError:
        raise InputImageError(
            f"{where}: not an image (or a format Pillow cannot read); "
            "use a PNG, JPEG, TIFF or WebP file"
        ) from None
    except Image.DecompressionBombError as exc:
        raise InputImageError(f"{where}: too many pixels to be a portrait ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputImageError(f"{where}: damaged or truncated image file ({exc})") from None


def _is_16_bit_png(data: bytes) -> bool:
    """Does `data` start a PNG whose IHDR says 16 bits per sample? (Pillow reads 16-bit
    colour PNGs straight into 8-bit RGB and does not say so.)"""
    return (
        data[: len(_PNG_SIGNATURE)] == _PNG_SIGNATURE
        and len(data) > _PNG_BIT_DEPTH_OFFSET
        and data[_PNG_BIT_DEPTH_OFFSET] == 16
    )


def _upright_rgb8(opened: Any) -> tuple[np.ndarray, list[str]]:
    """A loaded PIL image, turned upright and converted to (H, W, 3) uint8, plus notes."""
    from PIL import Image, ImageOps

    notes: list[str] = []
    image = opened
    if opened.getexif().get(_EXIF_ORIENTATION, 1) != 1:
        image = ImageOps.exif_transpose(opened)
        notes.append("turned upright from its EXIF orientation")
    mode = image.mode
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", image.size, TRANSPARENT_BACKGROUND_RGB)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        notes.append(f"{mode}: transparency composited over white")
        return np.asarray(flat).copy(), notes
    if mode in ("RGB", "L") or mode.startswith("I") or mode == "F":
        samples, note = _to_uint8(np.asarray(image), mode)
        if note:
            notes.append(note)
    else:
        samples = np.asarray(image.convert("RGB"))
        notes.append(f"{mode} converted to RGB")
    if samples.ndim == 2:
        samples = np.repeat(samples[:, :, None], 3, axis=2)
        notes.append("greyscale expanded to RGB")
    return np.ascontiguousarray(samples[:, :, :3]), notes


def read_portrait(source: str | Path) -> Portrait:
    """The portrait at `source` (a file path or "builtin:NAME") as 8-bit RGB.

    Raises InputImageError for a missing, unreadable, non-image, truncated or too small
    file, naming the file and the fault.
    """
    text = str(source)
    if text.startswith(BUILTIN_PREFIX):
        portrait = _builtin(text)
    else:
        path = Path(text)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputImageError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise InputImageError(f"{path}: is a directory, not an image file") from None
        except OSError as exc:
            raise InputImageError(f"{path}: cannot read ({exc.strerror})") from None
        if not data:
            raise InputImageError(f"{path}: empty file, not an image")
        rgb, notes = _decode(data, str(path))
        portrait = Portrait(rgb, hashlib.sha256(data).hexdigest(), text, tuple(notes))
    width, height = portrait.size
    if min(width, height) < MIN_IMAGE_SIDE_PX:
        raise InputImageError(
            f"{text}: image is {width}x{height} px, too small; it needs at least "
            f"{MIN_IMAGE_SIDE_PX} px on each side (and a face large enough to move its eyes)"
        )
    return portrait


def read_rgb_file(path: Path) -> npt.NDArray[np.uint8]:
    """Any image file as (H, W, 3) uint8 RGB, with read_portrait's conversions and errors."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputImageError(f"{path}: cannot read ({exc.strerror})") from None
    return _decode(data, str(path))[0]
