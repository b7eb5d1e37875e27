"""Reading portraits: every common mode comes out as upright 8-bit RGB; bad files are named."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
from PIL import Image

from build_frames.errors import InputImageError
from build_frames.image_io import MIN_IMAGE_SIDE_PX, read_portrait

H, W = 100, 80


def rgb_image() -> np.ndarray:
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[:10, :, 0] = 255  # a red band along the top
    rgb[:, :5, 2] = 255  # a blue band down the left
    return rgb


def test_rgb_png_round_trip_and_checksum(tmp_path):
    path = tmp_path / "p.png"
    Image.fromarray(rgb_image()).save(path)
    portrait = read_portrait(path)
    assert np.array_equal(portrait.rgb, rgb_image())
    assert portrait.notes == () and portrait.size == (W, H)
    import hashlib

    assert portrait.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_exif_orientation_is_applied(tmp_path):
    path = tmp_path / "rotated.jpg"
    image = Image.fromarray(rgb_image())
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    image.save(path, exif=exif, quality=95)
    portrait = read_portrait(path)
    assert portrait.size == (H, W)
    assert portrait.rgb[:, -10:, 0].mean() > 200  # the top band is now on the right
    assert any("EXIF" in n for n in portrait.notes)


def test_greyscale_is_expanded(tmp_path):
    path = tmp_path / "grey.png"
    Image.fromarray(rgb_image()[:, :, 0]).save(path)
    portrait = read_portrait(path)
    assert portrait.rgb.shape == (H, W, 3)
    assert (portrait.rgb[..., 0] == portrait.rgb[..., 2]).all()
    assert any("greyscale" in n for n in portrait.notes)


def test_rgba_is_composited_over_white(tmp_path):
    path = tmp_path / "rgba.png"
    rgba = np.dstack([rgb_image(), np.zeros((H, W), np.uint8)])
    rgba[50:, :, 3] = 255
    Image.fromarray(rgba).save(path)
    portrait = read_portrait(path)
    assert (portrait.rgb[:40, 10:] == 255).all()  # transparent -> white
    assert (portrait.rgb[60:, 10:] == 0).all()  # opaque black stays
    assert any("transparency" in n for n in portrait.notes)


def test_16_bit_greyscale_and_colour(tmp_path):
    grey = (np.linspace(0, 65535, H * W).reshape(H, W)).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "g16.png"), grey)
    portrait = read_portrait(tmp_path / "g16.png")
    assert portrait.rgb.dtype == np.uint8
    assert portrait.rgb[0, 0, 0] == 0 and portrait.rgb[-1, -1, 0] == 255
    colour = np.zeros((H, W, 3), np.uint16)
    colour[..., 2] = 65535  # BGR order for OpenCV: red
    cv2.imwrite(str(tmp_path / "c16.png"), colour)
    rgb = read_portrait(tmp_path / "c16.png").rgb
    assert rgb.dtype == np.uint8 and (rgb[..., 0] == 255).all() and (rgb[..., 1:] == 0).all()


def test_32_bit_integer_samples_scale_by_their_real_depth(tmp_path):
    ramp = np.linspace(0, 255, H * W).reshape(H, W).round().astype(np.int32)
    for top, expected in ((255, ramp), (65535, ramp), (1_000_000, ramp)):
        scaled = np.rint(ramp.astype(np.float64) * top / 255).astype(np.int32)
        Image.fromarray(scaled, mode="I").save(tmp_path / "i32.tif")
        portrait = read_portrait(tmp_path / "i32.tif")
        assert portrait.rgb.dtype == np.uint8
        assert np.abs(portrait.rgb[..., 0].astype(int) - expected).max() <= 1, top
        assert (portrait.rgb[..., 0] == portrait.rgb[..., 2]).all()
    assert np.array_equal(read_portrait(tmp_path / "i32.tif").rgb[..., 1], ramp)
    Image.fromarray(ramp, mode="I").save(tmp_path / "i8.tif")
    portrait = read_portrait(tmp_path / "i8.tif")
    assert np.array_equal(portrait.rgb[..., 1], ramp)  # 0..255 stays 0..255, not black
    assert any("8-bit values" in n for n in portrait.notes)


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a picture")
    with pytest.raises(InputImageError, match=r"notes\.txt: not an image"):
        read_portrait(path)


def test_truncated_file(tmp_path):
    full = tmp_path / "full.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (H, W, 3), np.uint8)).save(full)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(InputImageError, match=r"cut\.jpg: damaged or truncated"):
        read_portrait(cut)


def test_missing_empty_directory_and_unreadable(tmp_path):
    with pytest.raises(InputImageError, match="nope.png: no such file"):
        read_portrait(tmp_path / "nope.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(InputImageError, match="empty file"):
        read_portrait(tmp_path / "empty.png")
    with pytest.raises(InputImageError, match="is a directory"):
        read_portrait(tmp_path)
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(InputImageError, match="cannot read .Not a directory."):
        read_portrait(tmp_path / "file" / "p.png")
    locked = tmp_path / "locked.png"
    Image.fromarray(rgb_image()).save(locked)
    locked.chmod(0)
    if os.access(locked, os.R_OK):  # root reads anything
        pytest.skip("running as root: cannot make a file unreadable")
    with pytest.raises(InputImageError, match="cannot read"):
        read_portrait(locked)


def test_too_small_says_how_large(tmp_path):
    path = tmp_path / "tiny.png"
    Image.fromarray(np.zeros((40, 30, 3), np.uint8)).save(path)
    with pytest.raises(InputImageError, match=f"30x40 px, too small.*at least {MIN_IMAGE_SIDE_PX}"):
        read_portrait(path)


def test_builtin_portraits():
    pytest.importorskip("skimage")
    portrait = read_portrait("builtin:astronaut")
    assert portrait.size == (512, 512) and len(portrait.sha256) == 64
    with pytest.raises(InputImageError, match="unknown built-in portrait.*builtin:astronaut"):
        read_portrait("builtin:mona")


def test_missing_pillow_names_the_install(tmp_path, monkeypatch):
    import builtins

    from build_frames.errors import BuildError

    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    path = tmp_path / "p.png"
    Image.fromarray(rgb_image()).save(path)
    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(BuildError, match=r"needs Pillow: pip install 'mona-frame\[build\]'"):
        read_portrait(path)
