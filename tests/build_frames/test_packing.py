"""Edits to patch to pack: the union patch, crops, provenance, and the device's loader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from build_frames import __version__, packing
from build_frames.image_io import Portrait
from device.errors import PackError
from device.pack import PatchRect, load_pack


def base_image() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (60, 80, 3), dtype=np.uint8)


def edit(base: np.ndarray, rect: PatchRect, value: int, where: tuple[int, int]) -> packing.Edit:
    pixels = base[rect.slices].copy()
    pixels[where] = value
    return rect, pixels


def test_changed_rect_is_the_union_of_changed_pixels_only():
    base = base_image()
    unchanged = (PatchRect(0, 0, 10, 10), base[0:10, 0:10].copy())
    a = edit(base, PatchRect(10, 10, 20, 20), 7, (5, 6))  # pixel (16, 15)
    b = edit(base, PatchRect(40, 30, 10, 10), 9, (9, 0))  # pixel (40, 39)
    assert packing.changed_rect(base, [[unchanged]]) is None
    assert packing.changed_rect(base, [[a, unchanged], [b]]) == PatchRect(16, 15, 25, 25)


def test_frame_patch_and_full_frame():
    base = base_image()
    e = edit(base, PatchRect(10, 10, 20, 20), 7, (5, 6))
    patch = PatchRect(12, 12, 10, 10)
    crop = packing.frame_patch(base, patch, [e])
    assert crop.shape == (10, 10, 3) and (crop[3, 4] == 7).all()
    full = packing.full_frame(base, [e])
    assert (full[15, 16] == 7).all()
    full[15, 16] = base[15, 16]
    assert np.array_equal(full, base)


def test_lazy_patches_tick_once_per_frame():
    base = base_image()
    ticks: list[int] = []
    patches = packing.LazyPatches(base, PatchRect(0, 0, 4, 4), [[], []], lambda: ticks.append(1))
    assert len(patches) == 2 and patches[1].shape == (4, 4, 3) and len(ticks) == 1
    assert len(patches[0:2]) == 2


def portrait(base: np.ndarray) -> Portrait:
    return Portrait(base, "ab" * 32, "/some/where/p.png", ("greyscale expanded to RGB",))


def write(tmp_path, force: bool = False):
    base = base_image()
    frames = [[edit(base, PatchRect(10, 10, 20, 20), v, (5, 6))] for v in (0, 100, 200)]
    prov = packing.provenance("eyes", portrait(base), {"frames": 3}, {"analysis": {"x": 1}})
    return base, packing.write_frames(
        tmp_path / "pack",
        base,
        frames,
        (-10.0, 0.0, 10.0),
        (0.0,),
        PatchRect(0, 0, 5, 5),
        prov,
        force,
    )


def test_written_pack_loads_on_the_device_with_provenance(tmp_path):
    base, (root, patch) = write(tmp_path)
    pack = load_pack(root)
    assert pack.patch == patch == PatchRect(16, 15, 1, 1)
    assert np.array_equal(pack.base, base)
    assert [int(p[0, 0, 0]) for p in pack.patches] == [0, 100, 200]
    prov = pack.provenance
    assert prov["method"] == "eyes" and prov["input_sha256"] == "ab" * 32
    assert prov["input"] == "p.png" and prov["parameters"] == {"frames": 3}
    assert prov["tool"] == f"build-frames {__version__}" and prov["tool_version"] == __version__
    assert prov["analysis"] == {"x": 1}


def test_existing_pack_needs_force(tmp_path):
    write(tmp_path)
    with pytest.raises(PackError, match="already exists .use --force"):
        write(tmp_path)
    write(tmp_path, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack"]


def test_corrupted_copy_is_refused(tmp_path):
    _, (root, _) = write(tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    frame = copy / json.loads((copy / "pack.json").read_text())["frames"][1]["file"]
    data = bytearray(frame.read_bytes())
    data[len(data) // 2] ^= 0xFF
    frame.write_bytes(bytes(data))
    with pytest.raises(PackError, match="checksum mismatch"):
        load_pack(copy)
    assert load_pack(root).n_frames == 3


def test_unchanged_frames_use_the_fallback_patch(tmp_path):
    base = base_image()
    frames = [[], []]
    prov = packing.provenance("eyes", portrait(base), {})
    root, patch = packing.write_frames(
        tmp_path / "p", base, frames, (-1.0, 1.0), (0.0,), PatchRect(2, 3, 4, 5), prov, False
    )
    assert patch == PatchRect(2, 3, 4, 5) and load_pack(root).n_frames == 2


def test_summary_line():
    summary = packing.Summary(Path("out/pack"), 33, 2, PatchRect(5, 6, 70, 20), 13.2)
    assert summary.n_frames == 66
    assert packing.format_summary(summary) == (
        "wrote out/pack: 66 frames (33 yaw x 2 pitch), patch 70x20 px at (5, 6), "
        "13.2 s (0.20 s/frame)"
    )
