"""The scene compositor used by the range bench and tests: faces land where it says."""

from __future__ import annotations

import numpy as np
import pytest

from device import scenes


def test_a_face_box_lands_at_the_asked_place_and_size() -> None:
    photo = np.zeros((200, 300, 3), np.uint8)
    photo[50:100, 100:140] = 255  # a white 40x50 "face"
    background = np.zeros((400, 600, 3), np.uint8)
    frame, box = scenes.place_face(background, photo, (100, 50, 140, 100), 20.0, (300.0, 150.0))
    # Half the size, centred on (300, 150) to the nearest pixel.
    np.testing.assert_allclose(box, (290.0, 137.5, 310.0, 162.5), atol=0.5)
    assert box[2] - box[0] == pytest.approx(20.0) and box[3] - box[1] == pytest.approx(25.0)
    x0, y0, x1, y1 = (round(v) for v in box)
    assert (frame[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2] == 255).all()  # opaque inside
    assert frame[y0 - 3, x0 - 3].tolist() == [0, 0, 0]  # the photo's black around it


def test_a_face_near_the_edge_is_cut_not_moved() -> None:
    photo = np.full((100, 100, 3), 200, np.uint8)
    background = np.zeros((100, 100, 3), np.uint8)
    frame, box = scenes.place_face(background, photo, (40, 40, 60, 60), 20.0, (2.0, 50.0))
    assert box[0] == pytest.approx(-8.0) and box[2] == pytest.approx(12.0)
    assert frame.shape == (100, 100, 3)


def test_matches_wants_the_right_place_and_size() -> None:
    truth = (100.0, 100.0, 140.0, 140.0)
    assert scenes.matches((105, 95, 145, 135), truth)
    assert not scenes.matches((130, 100, 170, 140), truth)  # 0.75 widths off
    assert not scenes.matches((110, 110, 125, 125), truth)  # far too small
    assert not scenes.matches((40, 40, 200, 200), truth)  # far too big


def test_cover_fills_the_frame() -> None:
    photo = np.zeros((100, 400, 3), np.uint8)
    assert scenes.cover(photo, (320, 240)).shape == (240, 320, 3)


def test_feather_mask_is_opaque_inside_and_fades_to_the_border() -> None:
    mask = scenes.feather_mask(50, 100)
    assert mask[25, 50] == 1.0
    assert mask[0, 50] < 0.1 and mask[25, 0] < 0.1


def test_the_photos_load_and_their_face_box_is_inside() -> None:
    pytest.importorskip("skimage.data")
    pytest.importorskip("matplotlib.cbook")
    for photo in scenes.PHOTOS.values():
        image = photo.load()
        x0, y0, x1, y1 = photo.box_px
        assert image.ndim == 3 and image.dtype == np.uint8
        assert 0 <= x0 < x1 <= image.shape[1] and 0 <= y0 < y1 <= image.shape[0]
    assert [p.name for p in scenes.PHOTOS.values() if p.looks_at_camera] == [
        "astronaut",
        "grace_hopper",
    ]
