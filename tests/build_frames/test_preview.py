"""Contact sheet and sweep animation of a pack."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from build_frames import preview
from build_frames.errors import OptionError
from device.pack import PatchRect, load_pack, write_pack


@pytest.fixture
def pack(tmp_path):
    base = np.full((200, 160, 3), 90, np.uint8)
    patches = [np.full((20, 60, 3), 20 * i, np.uint8) for i in range(6)]
    root = write_pack(
        tmp_path / "pack", base, PatchRect(50, 80, 60, 20), patches, (-10.0, 0.0, 10.0), (-5.0, 5.0)
    )
    return load_pack(root)


def test_context_rect_gives_a_thin_patch_a_face_like_aspect():
    rect = preview.context_rect(PatchRect(100, 100, 200, 20), (1000, 1000))
    assert rect.width == 300 and rect.height >= preview.MIN_CONTEXT_ASPECT * rect.width - 1
    assert rect.y < 100 and rect.y + rect.height > 120


def test_contact_sheet_has_a_labelled_cell_per_frame(pack):
    sheet = preview.contact_sheet(pack)
    region = preview.context_rect(pack.patch, pack.base_size)
    cell_h = round(region.height * preview.THUMB_WIDTH_PX / region.width) + preview.LABEL_HEIGHT_PX
    assert sheet.shape == (cell_h, 6 * preview.THUMB_WIDTH_PX, 3)
    assert preview.frame_label(pack, 4) == "04  yaw +0.0 pitch +5.0"


def test_sweep_goes_there_and_back_on_the_level_row(pack):
    assert preview.sweep_indices(pack) == [0, 1, 2, 1]  # pitch -5 is as level as +5: first
    frames = preview.sweep_frames(pack, max_side_px=100)
    assert len(frames) == 4 and max(frames[0].shape[:2]) == 100


def test_gif_and_mp4(tmp_path, pack):
    frames = preview.sweep_frames(pack, max_side_px=64)
    ticks: list[int] = []
    preview.write_animation(tmp_path / "s.gif", frames, on_frame=lambda: ticks.append(1))
    with Image.open(tmp_path / "s.gif") as gif:
        assert gif.n_frames == len(frames)
    assert len(ticks) == len(frames)
    preview.write_animation(tmp_path / "s.mp4", frames)
    capture = cv2.VideoCapture(str(tmp_path / "s.mp4"))
    assert capture.isOpened() and int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == len(frames)
    capture.release()
    with pytest.raises(OptionError, match="unknown animation format '.avi'"):
        preview.write_animation(tmp_path / "s.avi", frames)


def test_preview_of_dot_writes_beside_the_pack(pack, tmp_path, monkeypatch, capsys):
    from build_frames.cli import main

    monkeypatch.chdir(tmp_path / "pack")
    assert main(["preview", ".", "--no-progress"]) == 0
    assert (tmp_path / "pack-sheet.png").is_file() and (tmp_path / "pack-sweep.gif").is_file()
    assert "Traceback" not in capsys.readouterr().err
