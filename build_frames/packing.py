"""From frame edits to a written frame pack: the union patch, the crops, provenance.

A frame is a list of edits (a rectangle of the painting and its new pixels). The patch
is the smallest rectangle holding every pixel any frame changes, so outside it every
frame equals the base exactly; each frame is the base's patch with its edits pasted in.
The pack itself is written by device.pack.write_pack (atomic, refuses to overwrite
without force).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from build_frames import __version__, geometry, progress
from build_frames.image_io import Portrait
from device.pack import PatchRect, write_pack

U8 = npt.NDArray[np.uint8]
Edit = tuple[PatchRect, U8]
TOOL_NAME = "build-frames"


def _changed_bounds(base: U8, edit: Edit) -> tuple[int, int, int, int] | None:
    rect, pixels = edit
    bounds = geometry.mask_bounds((pixels != base[rect.slices]).any(axis=2))
    if bounds is None:
        return None
    x0, y0, x1, y1 = bounds
    return rect.x + x0, rect.y + y0, rect.x + x1, rect.y + y1


def changed_rect(base: U8, frames: Sequence[Sequence[Edit]]) -> PatchRect | None:
    """The smallest rectangle holding every pixel that any frame changes; None if none."""
    found = [b for edits in frames for e in edits if (b := _changed_bounds(base, e)) is not None]
    if not found:
        return None
    return PatchRect(
        min(b[0] for b in found),
        min(b[1] for b in found),
        max(b[2] for b in found) - min(b[0] for b in found),
        max(b[3] for b in found) - min(b[1] for b in found),
    )


def frame_patch(base: U8, patch: PatchRect, edits: Sequence[Edit]) -> U8:
    """(patch.height, patch.width, 3): the base's patch with the edits pasted in."""
    out = base[patch.slices].copy()
    for rect, pixels in edits:
        x0, y0 = max(rect.x, patch.x), max(rect.y, patch.y)
        x1 = min(rect.x + rect.width, patch.x + patch.width)
        y1 = min(rect.y + rect.height, patch.y + patch.height)
        if x1 > x0 and y1 > y0:
            out[y0 - patch.y : y1 - patch.y, x0 - patch.x : x1 - patch.x] = pixels[
                y0 - rect.y : y1 - rect.y, x0 - rect.x : x1 - rect.x
            ]
    return out


def full_frame(base: U8, edits: Sequence[Edit]) -> U8:
    """The whole painting (H, W, 3) with a frame's edits applied."""
    height, width = base.shape[:2]
    return frame_patch(base, PatchRect(0, 0, width, height), edits)


class LazyPatches(Sequence[U8]):
    """The frames' patches, cropped when write_pack asks for each; `on_item` is called
    once per crop (a progress bar's update)."""

    def __init__(
        self,
        base: U8,
        patch: PatchRect,
        frames: Sequence[Sequence[Edit]],
        on_item: Callable[[], Any] | None = None,
    ) -> None:
        self._base, self._patch, self._frames, self._on_item = base, patch, frames, on_item

    def __len__(self) -> int:
        return len(self._frames)

    @overload
    def __getitem__(self, index: int) -> U8: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[U8]: ...

    def __getitem__(self, index: int | slice) -> U8 | Sequence[U8]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        image = frame_patch(self._base, self._patch, self._frames[index])
        if self._on_item is not None:
            self._on_item()
        return image

    def __iter__(self) -> Iterator[U8]:
        return (self[i] for i in range(len(self)))


def provenance(
    method: str,
    portrait: Portrait,
    parameters: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The pack's provenance: input checksum, method, parameters and tool version."""
    return {
        "method": method,
        "input": os.path.basename(portrait.source),
        "input_sha256": portrait.sha256,
        "input_notes": list(portrait.notes),
        "parameters": dict(parameters),
        "tool": f"{TOOL_NAME} {__version__}",
        "tool_version": __version__,
        **dict(extra or {}),
    }


def write_frames(
    out_dir: str | os.PathLike[str],
    base: U8,
    frames: Sequence[Sequence[Edit]],
    yaw_deg: Sequence[float],
    pitch_deg: Sequence[float],
    fallback_patch: PatchRect,
    prov: Mapping[str, Any],
    force: bool,
    on_item: Callable[[], Any] | None = None,
) -> tuple[Path, PatchRect]:
    """Write the pack; returns its path and patch. `fallback_patch` is used when no frame
    changes anything (every frame is then the base)."""
    patch = changed_rect(base, frames) or fallback_patch
    patches = LazyPatches(base, patch, frames, on_item)
    path = write_pack(out_dir, base, patch, patches, yaw_deg, pitch_deg, prov, force=force)
    return path, patch


def write_and_report(
    out_dir: str | os.PathLike[str],
    base: U8,
    frames: Sequence[Sequence[Edit]],
    yaw_deg: Sequence[float],
    pitch_deg: Sequence[float],
    fallback_patch: PatchRect,
    prov: Mapping[str, Any],
    force: bool,
    show_progress: bool,
    started_s: float,
) -> Summary:
    """write_frames with a progress bar, then the one-line summary printed to stdout.

    started_s: time.perf_counter() when the command started, for the summary's timing.
    """
    with progress.bar(len(yaw_deg) * len(pitch_deg), "write pack", show_progress) as bar:
        out, patch = write_frames(
            out_dir, base, frames, yaw_deg, pitch_deg, fallback_patch, prov, force,
            on_item=lambda: bar.update(1),
        )
    summary = Summary(out, len(yaw_deg), len(pitch_deg), patch, time.perf_counter() - started_s)
    print(format_summary(summary))
    return summary


@dataclass(frozen=True)
class Summary:
    """What a build did: frames, patch, wall time (s), and where the pack went."""

    out: Path
    n_yaw: int
    n_pitch: int
    patch: PatchRect
    seconds: float

    @property
    def n_frames(self) -> int:
        return self.n_yaw * self.n_pitch


def format_summary(summary: Summary) -> str:
    p = summary.patch
    per_frame = summary.seconds / max(summary.n_frames, 1)
    return (
        f"wrote {summary.out}: {summary.n_frames} frames ({summary.n_yaw} yaw x "
        f"{summary.n_pitch} pitch), patch {p.width}x{p.height} px at ({p.x}, {p.y}), "
        f"{summary.seconds:.1f} s ({per_frame:.2f} s/frame)"
    )
