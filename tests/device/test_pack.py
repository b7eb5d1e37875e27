from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from device.errors import PackError
from device.pack import MANIFEST_NAME, PatchRect, load_pack, write_pack

YAW = (-20.0, 0.0, 20.0)


def make_pack(tmp_path: Path, pitch: tuple[float, ...] = (0.0,)) -> Path:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    patch = PatchRect(x=10, y=20, width=30, height=16)
    patches = [np.full((16, 30, 3), 10 * i, np.uint8) for i in range(len(YAW) * len(pitch))]
    return write_pack(tmp_path / "pack", base, patch, patches, YAW, pitch, {"method": "test"})


def test_round_trip(tmp_path):
    root = make_pack(tmp_path)
    pack = load_pack(root)
    assert pack.base_size == (80, 60)
    assert pack.patch == PatchRect(10, 20, 30, 16)
    assert pack.yaw_deg == YAW and pack.pitch_deg == (0.0,)
    assert pack.n_frames == 3
    assert all((pack.patches[i] == 10 * i).all() for i in range(3))
    assert pack.provenance["method"] == "test"
    full = pack.full_frame(2)
    assert (full[20:36, 10:40] == 20).all()
    outside = full.copy()
    outside[20:36, 10:40] = pack.base[20:36, 10:40]
    assert (outside == pack.base).all()


def test_pitch_grid_indexing(tmp_path):
    pack = load_pack(make_pack(tmp_path, pitch=(-10.0, 0.0)))
    assert pack.n_frames == 6
    assert pack.frame_index(yaw_index=2, pitch_index=1) == 5
    assert (pack.patches[pack.frame_index(1, 1)] == 40).all()
    assert pack.level_pitch_index == 1


def test_no_half_written_pack_and_no_overwrite(tmp_path):
    root = make_pack(tmp_path)
    with pytest.raises(PackError, match="already exists"):
        make_pack(tmp_path)
    bad = [np.zeros((5, 5, 3), np.uint8)] * 3
    with pytest.raises(PackError, match="shape"):
        write_pack(
            tmp_path / "other", np.zeros((60, 80, 3), np.uint8), PatchRect(0, 0, 8, 8), bad, YAW
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack"]
    assert load_pack(root).n_frames == 3


def test_force_replaces(tmp_path):
    make_pack(tmp_path)
    base = np.zeros((60, 80, 3), np.uint8)
    patches = [np.zeros((8, 8, 3), np.uint8)] * 3
    write_pack(tmp_path / "pack", base, PatchRect(0, 0, 8, 8), patches, YAW, force=True)
    assert load_pack(tmp_path / "pack").patch == PatchRect(0, 0, 8, 8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack"]


def edit_manifest(root: Path, change) -> None:
    path = root / MANIFEST_NAME
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def test_missing_directory_and_manifest(tmp_path):
    with pytest.raises(PackError, match="not found"):
        load_pack(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PackError, match=r"pack\.json: missing"):
        load_pack(tmp_path / "empty")


def test_missing_frame_file(tmp_path):
    root = make_pack(tmp_path)
    (root / "frame_p00_y001.png").unlink()
    with pytest.raises(PackError, match=r"frame_p00_y001\.png: file is missing"):
        load_pack(root)


def test_bad_checksum(tmp_path):
    root = make_pack(tmp_path)
    data = bytearray((root / "frame_p00_y002.png").read_bytes())
    data[60] ^= 0xFF
    (root / "frame_p00_y002.png").write_bytes(bytes(data))
    with pytest.raises(PackError, match=r"frame_p00_y002\.png: checksum mismatch"):
        load_pack(root)


def test_truncated_png_with_matching_checksum(tmp_path):
    from device.pack import sha256_bytes

    root = make_pack(tmp_path)
    path = root / "frame_p00_y000.png"
    cut = path.read_bytes()[:-30]
    path.write_bytes(cut)
    edit_manifest(root, lambda m: m["frames"][0].update(sha256=sha256_bytes(cut)))
    with pytest.raises(PackError, match=r"frame_p00_y000\.png: truncated PNG"):
        load_pack(root)


def test_wrong_frame_size(tmp_path):
    root = make_pack(tmp_path)
    edit_manifest(root, lambda m: m["patch"].update(width=29))
    with pytest.raises(PackError, match="expected the patch size 29x16"):
        load_pack(root)


def test_wrong_base_size(tmp_path):
    root = make_pack(tmp_path)
    edit_manifest(root, lambda m: m["base"].update(width=81))
    with pytest.raises(PackError, match=r"base\.png: size 80x60, pack\.json says 81x60"):
        load_pack(root)


def test_unknown_version_and_format(tmp_path):
    root = make_pack(tmp_path)
    edit_manifest(root, lambda m: m.update(version=2))
    with pytest.raises(PackError, match="unsupported pack version 2"):
        load_pack(root)
    edit_manifest(root, lambda m: m.update(format="something-else"))
    with pytest.raises(PackError, match="format is 'something-else'"):
        load_pack(root)


def test_not_json(tmp_path):
    root = make_pack(tmp_path)
    (root / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(PackError, match="not valid JSON"):
        load_pack(root)


def test_gaze_table_must_ascend_and_match_frames(tmp_path):
    root = make_pack(tmp_path)
    edit_manifest(root, lambda m: m["gaze"].update(yaw_deg=[0.0, -20.0, 20.0]))
    with pytest.raises(PackError, match="strictly ascending"):
        load_pack(root)
    edit_manifest(root, lambda m: m["gaze"].update(yaw_deg=[-20.0, 0.0, 10.0, 20.0]))
    with pytest.raises(PackError, match="expected 4 frames"):
        load_pack(root)


def test_patch_outside_base(tmp_path):
    root = make_pack(tmp_path)
    edit_manifest(root, lambda m: m["patch"].update(x=70))
    with pytest.raises(PackError, match="does not fit"):
        load_pack(root)


def test_file_outside_pack_refused(tmp_path):
    root = make_pack(tmp_path)
    edit_manifest(root, lambda m: m["frames"][0].update(file="../elsewhere.png"))
    with pytest.raises(PackError, match="inside the pack"):
        load_pack(root)


def _small_pack_args() -> tuple[np.ndarray, PatchRect, list[np.ndarray]]:
    patches = [np.zeros((8, 8, 3), np.uint8)] * 3
    return np.zeros((60, 80, 3), np.uint8), PatchRect(0, 0, 8, 8), patches


def test_force_replaces_an_empty_directory(tmp_path):
    (tmp_path / "pack").mkdir()
    base, patch, patches = _small_pack_args()
    write_pack(tmp_path / "pack", base, patch, patches, YAW, force=True)
    assert load_pack(tmp_path / "pack").n_frames == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack"]


def test_force_refuses_a_directory_that_is_not_a_pack(tmp_path):
    keep = tmp_path / "photos"
    keep.mkdir()
    (keep / "holiday.jpg").write_bytes(b"precious")
    base, patch, patches = _small_pack_args()
    with pytest.raises(PackError, match="exists and is not a frame pack; not replacing it"):
        write_pack(keep, base, patch, patches, YAW, force=True)
    assert (keep / "holiday.jpg").read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos"]


def test_force_never_deletes_a_plain_file(tmp_path):
    keep = tmp_path / "notes.txt"
    keep.write_text("precious")
    base, patch, patches = _small_pack_args()
    with pytest.raises(PackError, match="exists and is not a frame pack; not replacing it"):
        write_pack(keep, base, patch, patches, YAW, force=True)
    assert keep.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("out", ["", ".", ".."])
def test_empty_or_dot_out_path_refused(tmp_path, monkeypatch, out):
    monkeypatch.chdir(tmp_path)
    base, patch, patches = _small_pack_args()
    for force in (False, True):
        with pytest.raises(PackError, match="not a usable pack directory"):
            write_pack(out, base, patch, patches, YAW, force=force)
    assert list(tmp_path.iterdir()) == []


def test_frame_name_with_nul_byte_refused(tmp_path):
    root = make_pack(tmp_path)
    edit_manifest(root, lambda m: m["frames"][0].update(file="frame\u0000.png"))
    with pytest.raises(PackError, match="bad file name"):
        load_pack(root)


def test_deeply_nested_manifest_refused(tmp_path):
    root = make_pack(tmp_path)
    (root / MANIFEST_NAME).write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(PackError, match="not valid JSON"):
        load_pack(root)


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), True])
@pytest.mark.parametrize("key", ["yaw_deg", "pitch_deg"])
def test_gaze_angles_must_be_finite_numbers(tmp_path, key, bad):
    root = make_pack(tmp_path)
    angles = [-20.0, 0.0, 20.0] if key == "yaw_deg" else [0.0]
    angles[0] = bad
    edit_manifest(root, lambda m: m["gaze"].update({key: angles}))
    with pytest.raises(PackError, match=f"gaze.{key} must be a non-empty list of finite numbers"):
        load_pack(root)
