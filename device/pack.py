"""Frame pack format, version 1: load and verify, and write atomically.

A pack is a directory (see docs/pack-format.md):

    pack.json       format, version, base size + sha256, patch rectangle, gaze table,
                    one entry per frame (file, yaw_index, pitch_index, sha256), provenance
    base.png        the whole painting, RGB
    frame_*.png     one per gaze-table cell, holding only the patch rectangle

Outside the patch every frame equals the base, so the device keeps one full-size
image and N small patches in memory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from device.errors import PackError

FORMAT_NAME = "mona-frame-pack"
FORMAT_VERSION = 1
MANIFEST_NAME = "pack.json"
BASE_NAME = "base.png"
# Every PNG ends with an IEND chunk: length 0, type "IEND", CRC AE426082.
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"IEND\xaeB`\x82"
# Fast PNG compression: packs are written once but a 33-frame build should not crawl.
_PNG_COMPRESSION = 3


@dataclass(frozen=True)
class PatchRect:
    """The head region, in base-image pixels: top-left (x, y) and size."""

    x: int
    y: int
    width: int
    height: int

    @property
    def slices(self) -> tuple[slice, slice]:
        """(rows, cols) slices selecting the patch out of an (H, W, ...) array."""
        return slice(self.y, self.y + self.height), slice(self.x, self.x + self.width)


@dataclass(frozen=True)
class FramePack:
    """A loaded, verified pack. All images are (H, W, 3) uint8 RGB arrays.

    patches[i] is frame i's patch; frame i shows yaw_deg[i % n_yaw] and
    pitch_deg[i // n_yaw] (see frame_index).
    """

    root: Path
    base: np.ndarray
    patch: PatchRect
    yaw_deg: tuple[float, ...]
    pitch_deg: tuple[float, ...]
    patches: tuple[np.ndarray, ...]
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return len(self.patches)

    @property
    def base_size(self) -> tuple[int, int]:
        """(width, height) of the base image in px."""
        return self.base.shape[1], self.base.shape[0]

    def frame_index(self, yaw_index: int, pitch_index: int = 0) -> int:
        return pitch_index * len(self.yaw_deg) + yaw_index

    @property
    def level_pitch_index(self) -> int:
        """The pitch row closest to looking straight ahead (0°)."""
        return int(np.argmin(np.abs(np.asarray(self.pitch_deg))))

    def without_pixels(self) -> FramePack:
        """This pack with its full-size pixels dropped: for the frame's main loop once the
        display holds its own screen-sized copies (saves the painting's size in memory).

        Shapes stay as they were (the arrays become zero-strided views of one black
        pixel), so sizes, the patch and the gaze table still read true; pixels read black.
        """
        black = np.zeros((1, 1, 3), np.uint8)
        return dataclasses.replace(
            self,
            base=np.broadcast_to(black, self.base.shape),
            patches=tuple(np.broadcast_to(black, p.shape) for p in self.patches),
        )

    def full_frame(self, index: int) -> np.ndarray:
        """Frame `index` as a whole painting (a copy of the base with the patch pasted)."""
        image = self.base.copy()
        image[self.patch.slices] = self.patches[index]
        return image


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise PackError(message)


def _decode_png(path: Path, data: bytes) -> np.ndarray:
    _require(data.startswith(_PNG_SIGNATURE), f"{path}: not a PNG file")
    _require(data.rstrip(b"\0").endswith(_PNG_IEND), f"{path}: truncated PNG (no IEND chunk)")
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise PackError(f"{path}: PNG data cannot be decoded")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _read_verified(root: Path, name: Any, sha256: Any) -> np.ndarray:
    _require(
        isinstance(name, str) and name != "", f"{root / MANIFEST_NAME}: bad file name {name!r}"
    )
    _require("\0" not in name, f"{root / MANIFEST_NAME}: bad file name {name!r}")
    path = root / name
    _require(path.resolve().parent == root.resolve(), f"{path}: file must be inside the pack")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PackError(f"{path}: file is missing") from None
    except OSError as exc:
        raise PackError(f"{path}: cannot read ({exc.strerror})") from None
    actual = sha256_bytes(data)
    _require(
        actual == sha256,
        f"{path}: checksum mismatch (sha256 {actual[:12]}…, pack.json says {str(sha256)[:12]}…)",
    )
    return _decode_png(path, data)


def _is_finite_number(value: Any) -> bool:
    """True for a JSON number that is a real angle: not a bool, not Infinity/NaN, not huge."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer too large for a float
        return False


def _angles(manifest_path: Path, value: Any, key: str) -> tuple[float, ...]:
    ok = isinstance(value, list) and value and all(_is_finite_number(v) for v in value)
    _require(
        bool(ok), f"{manifest_path}: gaze.{key} must be a non-empty list of finite numbers"
    )
    angles = tuple(float(v) for v in value)
    _require(
        all(a < b for a, b in zip(angles, angles[1:], strict=False)),
        f"{manifest_path}: gaze.{key} must be strictly ascending, got {list(angles)}",
    )
    return angles


def _int_field(manifest_path: Path, obj: Mapping[str, Any], key: str, where: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise PackError(f"{manifest_path}: {where}.{key} must be an integer, got {value!r}")
    return value


def _object(manifest_path: Path, value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PackError(f"{manifest_path}: {where} must be a JSON object")
    return value


def read_manifest(root: Path) -> dict[str, Any]:
    """pack.json of the pack at `root`, checked for format name and version."""
    path = root / MANIFEST_NAME
    if not root.is_dir():
        raise PackError(f"{root}: frame pack directory not found")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackError(f"{path}: missing (is {root} a frame pack?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise PackError(f"{path}: not valid JSON (nested too deeply)") from None
    _require(isinstance(manifest, dict), f"{path}: must hold a JSON object")
    _require(
        manifest.get("format") == FORMAT_NAME,
        f"{path}: format is {manifest.get('format')!r}, expected {FORMAT_NAME!r}",
    )
    _require(
        manifest.get("version") == FORMAT_VERSION,
        f"{path}: unsupported pack version {manifest.get('version')!r} "
        f"(this build reads version {FORMAT_VERSION})",
    )
    return manifest


def load_pack(root: str | os.PathLike[str]) -> FramePack:
    """Load and verify the pack at `root`; raise PackError naming the file and the fault."""
    root = Path(root)
    manifest = read_manifest(root)
    mpath = root / MANIFEST_NAME

    base_info = _object(mpath, manifest.get("base"), "'base'")
    width = _int_field(mpath, base_info, "width", "base")
    height = _int_field(mpath, base_info, "height", "base")
    base = _read_verified(root, base_info.get("file", BASE_NAME), base_info.get("sha256"))
    _require(
        base.shape[:2] == (height, width),
        f"{root / str(base_info.get('file', BASE_NAME))}: size {base.shape[1]}x{base.shape[0]}, "
        f"pack.json says {width}x{height}",
    )

    p = _object(mpath, manifest.get("patch"), "'patch'")
    patch = PatchRect(*(_int_field(mpath, p, k, "patch") for k in ("x", "y", "width", "height")))
    _require(
        patch.width > 0
        and patch.height > 0
        and patch.x >= 0
        and patch.y >= 0
        and patch.x + patch.width <= width
        and patch.y + patch.height <= height,
        f"{mpath}: patch {patch} does not fit inside the {width}x{height} base",
    )

    gaze = _object(mpath, manifest.get("gaze"), "'gaze'")
    yaw = _angles(mpath, gaze.get("yaw_deg"), "yaw_deg")
    pitch = _angles(mpath, gaze.get("pitch_deg", [0.0]), "pitch_deg")

    entries = manifest.get("frames")
    expected = len(yaw) * len(pitch)
    if not isinstance(entries, list) or len(entries) != expected:
        found = len(entries) if isinstance(entries, list) else "none"
        raise PackError(
            f"{mpath}: expected {expected} frames ({len(yaw)} yaw x {len(pitch)} pitch), "
            f"found {found}"
        )
    slots: list[np.ndarray | None] = [None] * expected
    for n, entry in enumerate(entries):
        entry = _object(mpath, entry, f"frames[{n}]")
        yi = _int_field(mpath, entry, "yaw_index", f"frames[{n}]")
        pi = _int_field(mpath, entry, "pitch_index", f"frames[{n}]")
        _require(
            0 <= yi < len(yaw) and 0 <= pi < len(pitch),
            f"{mpath}: frames[{n}] index (yaw {yi}, pitch {pi}) is outside the gaze table",
        )
        slot = pi * len(yaw) + yi
        _require(
            slots[slot] is None, f"{mpath}: frames[{n}] repeats gaze cell (yaw {yi}, pitch {pi})"
        )
        image = _read_verified(root, entry.get("file"), entry.get("sha256"))
        _require(
            image.shape[:2] == (patch.height, patch.width),
            f"{root / entry['file']}: size {image.shape[1]}x{image.shape[0]}, "
            f"expected the patch size {patch.width}x{patch.height}",
        )
        slots[slot] = image

    provenance = manifest.get("provenance", {})
    return FramePack(
        root=root,
        base=base,
        patch=patch,
        yaw_deg=yaw,
        pitch_deg=pitch,
        patches=tuple(s for s in slots if s is not None),
        provenance=provenance if isinstance(provenance, dict) else {},
    )


def frame_file_name(yaw_index: int, pitch_index: int) -> str:
    return f"frame_p{pitch_index:02d}_y{yaw_index:03d}.png"


def _encode_png(path: Path, rgb: np.ndarray) -> str:
    ok, buf = cv2.imencode(
        ".png",
        cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
        [cv2.IMWRITE_PNG_COMPRESSION, _PNG_COMPRESSION],
    )
    if not ok:
        raise PackError(f"{path}: PNG encoding failed")
    data = buf.tobytes()
    path.write_bytes(data)
    return sha256_bytes(data)


def check_destination(out_dir: str | os.PathLike[str], force: bool) -> Path:
    """`out_dir` as a Path if write_pack may write there; PackError if not.

    Free to use: a path that does not exist. With `force`, also an existing frame pack
    (holds pack.json) or an empty directory. Build commands call this before their slow
    work so a refusal comes at once.
    """
    out = Path(out_dir)
    if out.name in ("", ".", ".."):
        raise PackError(f"{str(out_dir)!r} is not a usable pack directory; name a new folder")
    if out.exists() or out.is_symlink():
        if not force:
            raise PackError(f"{out}: already exists (use --force to overwrite)")
        if not _replaceable(out):
            raise PackError(f"{out} exists and is not a frame pack; not replacing it")
    return out


def write_pack(
    out_dir: str | os.PathLike[str],
    base: np.ndarray,
    patch: PatchRect,
    patches: Sequence[np.ndarray],
    yaw_deg: Sequence[float],
    pitch_deg: Sequence[float] = (0.0,),
    provenance: Mapping[str, Any] | None = None,
    force: bool = False,
) -> Path:
    """Write a version-1 pack to `out_dir` atomically and return its path.

    `patches[pitch_index * len(yaw_deg) + yaw_index]` is each frame's patch, an
    (patch.height, patch.width, 3) uint8 RGB array; `base` is the (H, W, 3) painting.
    Everything goes into a temporary sibling directory that is renamed into place
    at the end, so an interrupted build never leaves a half-written pack.

    With `force`, an existing `out_dir` is replaced only if it is a frame pack (holds
    pack.json) or an empty directory; anything else (a file, a directory of other
    things) is refused, never deleted.
    """
    out = check_destination(out_dir, force)
    n_expected = len(yaw_deg) * len(pitch_deg)
    if len(patches) != n_expected:
        raise PackError(f"{out}: {len(patches)} frames given, the gaze table needs {n_expected}")
    height, width = base.shape[:2]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        base_sha = _encode_png(tmp / BASE_NAME, base)
        frames = []
        for pi in range(len(pitch_deg)):
            for yi in range(len(yaw_deg)):
                image = patches[pi * len(yaw_deg) + yi]
                if image.shape != (patch.height, patch.width, 3):
                    raise PackError(
                        f"frame (yaw {yi}, pitch {pi}) has shape {image.shape}, "
                        f"expected {(patch.height, patch.width, 3)}"
                    )
                name = frame_file_name(yi, pi)
                frames.append(
                    {
                        "file": name,
                        "yaw_index": yi,
                        "pitch_index": pi,
                        "sha256": _encode_png(tmp / name, image),
                    }
                )
        manifest = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "base": {"file": BASE_NAME, "width": width, "height": height, "sha256": base_sha},
            "patch": {"x": patch.x, "y": patch.y, "width": patch.width, "height": patch.height},
            "gaze": {
                "yaw_deg": [float(a) for a in yaw_deg],
                "pitch_deg": [float(a) for a in pitch_deg],
            },
            "frames": frames,
            "provenance": dict(provenance or {}),
        }
        (tmp / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o755)
        _move_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _replaceable(out: Path) -> bool:
    """Whether --force may replace `out`: a real directory that is a pack or is empty."""
    if out.is_symlink() or not out.is_dir():
        return False
    try:
        return (out / MANIFEST_NAME).is_file() or not any(out.iterdir())
    except OSError:
        return False


def _move_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished `tmp` to `out`; an old pack at `out` is moved aside under a
    unique name first, put back if the rename fails, and deleted once the new one is in."""
    if not out.exists():
        tmp.rename(out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
    try:
        out.replace(old)  # a directory may replace the empty directory just made
    except BaseException:
        old.rmdir()
        raise
    try:
        tmp.rename(out)
    except BaseException:
        old.rename(out)  # put the previous pack back
        raise
    shutil.rmtree(old, ignore_errors=True)
