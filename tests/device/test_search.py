"""Search layout, seam filtering, merging and tracking crops: pure maths, no model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from device.faces import Face
from device.search import (
    SearchSettings,
    cut_by_seam,
    left_to_tiles,
    merge_faces,
    search_layout,
    spread,
    tile_overlap_px,
    track_region,
)


def face(x0: float, y0: float, width: float, score: float = 0.9) -> Face:
    eyes = ((x0 + 0.3 * width, y0 + 0.35 * width), (x0 + 0.7 * width, y0 + 0.35 * width))
    rest = ((x0 + 0.5 * width, y0 + 0.6 * width),) * 4
    return Face((x0, y0, x0 + width, y0 + width), eyes + rest, score)


def overlaps(starts: list[int], side: int) -> list[int]:
    return [side - (b - a) for a, b in zip(starts, starts[1:], strict=False)]


def test_default_layout_at_1280x720() -> None:
    layout = search_layout(1280, 720, SearchSettings())
    assert layout.frame_px == (0, 0, 1280, 720)
    assert layout.regions_px[0] == layout.frame_px
    assert len(layout.tiles_px) == 4
    xs = [t[0] for t in layout.tiles_px]
    sides = {(t[2] - t[0], t[3] - t[1]) for t in layout.tiles_px}
    assert sides == {(455, 455)}  # ceil((1280 + 3 * 180) / 4), square
    assert xs[0] == 0 and layout.tiles_px[-1][2] == 1280
    assert min(overlaps(xs, 455)) >= layout.overlap_px == 180
    # One row, centred on the band 0.2..0.75 of the height (144..540 px).
    (y0,) = {t[1] for t in layout.tiles_px}
    assert y0 <= 144 and y0 + 455 >= 540
    assert layout.tiled_area_px == (0, y0, 1280, y0 + 455)


@pytest.mark.parametrize("width", [320, 640, 1000, 1280, 1920, 4608])
@pytest.mark.parametrize("tiles", [1, 2, 3, 4, 5, 8])
@pytest.mark.parametrize("max_far_face_px", [20, 60, 120])
def test_tiles_cover_the_band_and_overlap_enough(
    width: int, tiles: int, max_far_face_px: int
) -> None:
    height = width * 9 // 16
    settings = SearchSettings(tiles=tiles, max_far_face_px=max_far_face_px)
    layout = search_layout(width, height, settings)
    if not layout.tiles_px:  # too little magnification to be worth it
        side = math.ceil((width + (tiles - 1) * layout.overlap_px) / tiles)
        assert side * 1.5 > width
        return
    for x0, y0, x1, y1 in layout.tiles_px:
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    area = layout.tiled_area_px
    assert area is not None
    assert area[0] == 0 and area[2] == width  # the whole width
    band_top = round(settings.head_band_top * height)
    band_bottom = round(settings.head_band_bottom * height)
    assert area[1] <= band_top and area[3] >= band_bottom  # the whole band
    xs = sorted({t[0] for t in layout.tiles_px})
    side = layout.tiles_px[0][2] - layout.tiles_px[0][0]
    assert len(xs) == tiles
    assert all(o >= layout.overlap_px for o in overlaps(xs, side))
    ys = sorted({t[1] for t in layout.tiles_px})
    side_y = layout.tiles_px[0][3] - layout.tiles_px[0][1]
    assert all(o >= layout.overlap_px for o in overlaps(ys, side_y))


def test_a_band_taller_than_a_tile_gets_more_rows() -> None:
    settings = SearchSettings(tiles=6, head_band_top=0.0, head_band_bottom=1.0)
    layout = search_layout(1280, 720, settings)
    # 364-px tiles overlapping by 180 px: three rows span 720 px.
    ys = sorted({t[1] for t in layout.tiles_px})
    assert len(ys) == 3 and ys[0] == 0 and layout.tiles_px[-1][3] == 720
    assert len(layout.tiles_px) == 18


def test_no_tiles_when_asked_or_when_they_would_not_magnify() -> None:
    assert search_layout(1280, 720, SearchSettings(tiles=0)).tiles_px == ()
    # 160x120 with the default overlap: a tile would be nearly the whole frame.
    small = search_layout(160, 120, SearchSettings())
    assert small.tiles_px == () and small.regions_px == ((0, 0, 160, 120),)
    assert small.tiled_area_px is None


def test_spread_puts_first_and_last_at_the_ends() -> None:
    assert spread(0, 1280, 455, 4) == [0, 275, 550, 825]
    assert spread(100, 50, 30, 1) == [110]
    assert spread(0, 10, 10, 3) == [0, 0, 0]


def test_overlap_covers_the_widest_far_face_with_slack() -> None:
    assert tile_overlap_px(120) == 180
    assert tile_overlap_px(1) == 2


def test_settings_refuse_impossible_values() -> None:
    for bad in (
        {"tiles": -1},
        {"head_band_top": 0.8, "head_band_bottom": 0.5},
        {"head_band_bottom": 1.5},
        {"max_far_face_px": 0},
        {"track_crop_face_widths": 0.5},
    ):
        with pytest.raises(ValueError):
            SearchSettings(**bad)  # type: ignore[arg-type]


def test_cut_by_seam_only_for_edges_another_tile_continues() -> None:
    area = (0, 100, 1000, 500)
    middle = (300, 100, 700, 500)
    assert not cut_by_seam(face(400, 200, 100), middle, area)  # inside
    assert cut_by_seam(face(280, 200, 60), middle, area)  # past the left seam
    assert cut_by_seam(face(660, 200, 60), middle, area)  # past the right seam
    # The band's top and the frame's edges have no neighbouring tile: keep.
    assert not cut_by_seam(face(400, 80, 60), middle, area)
    left = (0, 100, 400, 500)
    assert not cut_by_seam(face(-20, 200, 60), left, area)
    assert cut_by_seam(face(380, 200, 60), left, area)


def test_small_faces_in_the_band_are_left_to_the_tiles() -> None:
    layout = search_layout(1280, 720, SearchSettings())  # band rows 115..570
    assert left_to_tiles(face(600, 300, 50), layout, 120)  # small, in the band
    assert not left_to_tiles(face(600, 300, 150), layout, 120)  # near: the whole frame's
    assert not left_to_tiles(face(600, 620, 50), layout, 120)  # below the band: nobody else
    no_tiles = search_layout(1280, 720, SearchSettings(tiles=0))
    assert not left_to_tiles(face(600, 300, 50), no_tiles, 120)


def test_merge_keeps_one_face_per_person_and_sorts_by_score() -> None:
    a = face(100, 100, 50, 0.7)
    a_again = face(103, 101, 52, 0.9)  # the same face seen from another tile
    b = face(600, 120, 40, 0.8)
    merged = merge_faces([a, b, a_again])
    assert len(merged) == 2
    assert [round(f.score, 2) for f in merged] == [0.9, 0.8]
    weights = np.array([0.9, 0.7]) / 1.6
    np.testing.assert_allclose(merged[0].box_px, weights @ np.array([a_again.box_px, a.box_px]))
    assert merged[1] == b
    assert len(merged[0].keypoints_px) == 6


def test_merge_of_one_or_none_returns_them_unchanged() -> None:
    only = face(10, 10, 20)
    assert merge_faces([]) == []
    assert merge_faces([only])[0] is only


def test_track_region_is_a_square_of_face_widths_around_the_face() -> None:
    region = track_region(face(600, 300, 40), 1280, 720, 4.0)
    assert region == (540, 240, 700, 400)
    x0, y0, x1, y1 = region
    assert (x0 + x1) / 2 == 620 and (y0 + y1) / 2 == 320


def test_track_region_slides_inside_the_frame_and_is_cut_only_when_too_big() -> None:
    assert track_region(face(5, 680, 40), 1280, 720, 4.0) == (0, 560, 160, 720)
    # A face too near to fit four widths in the frame: the crop is the whole height.
    x0, y0, x1, y1 = track_region(face(500, 100, 300), 1280, 720, 4.0)
    assert (y0, y1) == (0, 720) and (x0, x1) == (50, 1250)
    assert track_region(face(0, 0, 900), 1280, 720, 4.0) == (0, 0, 1280, 720)
    # A degenerate box still gives a usable crop.
    x0, y0, x1, y1 = track_region(face(50, 50, 0.0), 1280, 720, 4.0)
    assert x1 - x0 == y1 - y0 == 32
