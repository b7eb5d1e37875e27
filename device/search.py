"""Where the detector looks: the whole frame plus tiles (search), or a crop (track).

Pure maths on pixel rectangles and faces; no camera, model or display imports.

BlazeFace sees the frame through its small square input (192 px for the full-range
model), so a 1280-px-wide frame is shrunk 6.7 times and a face needs to be about
100-120 px wide to be found reliably — a viewer within ~1.25 m (bench/range.py). A
search therefore runs the detector on:

- the whole frame, for near viewers, and
- square tiles laid across the head-height band of the frame, for far viewers: each
  tile is shrunk much less, so faces down to ~30 px wide are found. Neighbouring tiles
  overlap by more than the widest face a tile must find, so every such face lies whole
  inside at least one tile; a detection cut by a seam between tiles is dropped (its
  neighbour sees that face whole), and the rest are merged by weighted NMS in frame
  pixels, so a face seen twice is reported once.

Each pass reports the faces it is there for: inside the tiled band, faces no wider than
max_far_face_px are the tiles' (left_to_tiles), because the whole-frame pass sees them
at under ~10 px of its input, where its boxes are badly placed or not faces at all.

Once a viewer is found, tracking runs the detector once per frame on a square crop a
few face widths wide around their last face: the face fills a good part of the model
input wherever they stand, and a walking viewer stays inside the crop between frames.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from device.blazeface import MIN_SUPPRESSION_THRESHOLD, NUM_KEYPOINTS, PixelRegion, weighted_nms
from device.faces import Face

# Tile overlap per px of the widest face a tile must find. BlazeFace's box is up to
# ~1.25 times a face's cheek-to-cheek width (full range: a 162 px box on a 130 px face);
# the rest keeps a box that just fits from being cut by rounding.
TILE_OVERLAP_PER_FACE_PX = 1.5
# Tiles must magnify at least this much more than the whole-frame pass (frame's long
# side / tile side); less would find little it misses, so a search is then the whole
# frame only.
MIN_TILE_ZOOM = 1.5
# Smallest tracking crop side: a guard against a degenerate box. No face narrower than
# ~24 px is ever found (bench/range.py), so a real crop of 2+ face widths is larger.
MIN_TRACK_CROP_PX = 32


@dataclass(frozen=True)
class SearchSettings:
    """How the frame is searched and a viewer tracked; see the [detector] config section.

    tiles: square tiles across the frame's width (0: the whole frame only).
    head_band_top, head_band_bottom: the band the tiles cover, as fractions of the
        frame height from its top (rows of tiles are added if it is taller than one).
    max_far_face_px: the widest face (frame px) the tiles must find whole; wider faces
        are the whole-frame pass's. Sets the overlap between tiles.
    track_crop_face_widths: side of the tracking crop, in widths of the last face.
    """

    tiles: int = 4
    head_band_top: float = 0.2
    head_band_bottom: float = 0.75
    max_far_face_px: int = 120
    track_crop_face_widths: float = 4.0

    def __post_init__(self) -> None:
        if self.tiles < 0:
            raise ValueError(f"tiles must be >= 0, got {self.tiles!r}")
        if not 0.0 <= self.head_band_top < self.head_band_bottom <= 1.0:
            raise ValueError(
                "need 0 <= head_band_top < head_band_bottom <= 1, got "
                f"{self.head_band_top!r} and {self.head_band_bottom!r}"
            )
        if self.max_far_face_px < 1:
            raise ValueError(f"max_far_face_px must be >= 1, got {self.max_far_face_px!r}")
        if self.track_crop_face_widths < 1.0:
            raise ValueError(
                f"track_crop_face_widths must be >= 1, got {self.track_crop_face_widths!r}"
            )


@dataclass(frozen=True)
class SearchLayout:
    """Where one search runs the detector on a width × height frame.

    frame_px: (0, 0, width, height); tiles_px: the tiles, row by row, left to right;
    tiled_area_px: their bounding box (None without tiles); overlap_px: the least
    overlap between neighbouring tiles that was asked for.
    """

    frame_px: PixelRegion
    tiles_px: tuple[PixelRegion, ...]
    overlap_px: int

    @property
    def regions_px(self) -> tuple[PixelRegion, ...]:
        """Every region a search runs the detector on: the whole frame, then the tiles."""
        return (self.frame_px, *self.tiles_px)

    @property
    def tiled_area_px(self) -> PixelRegion | None:
        if not self.tiles_px:
            return None
        return (
            min(t[0] for t in self.tiles_px),
            min(t[1] for t in self.tiles_px),
            max(t[2] for t in self.tiles_px),
            max(t[3] for t in self.tiles_px),
        )


def tile_overlap_px(max_far_face_px: int) -> int:
    """Least overlap (px) between neighbouring tiles so a face this wide is whole in one."""
    return math.ceil(max_far_face_px * TILE_OVERLAP_PER_FACE_PX)


def spread(start: int, length: int, side: int, count: int) -> list[int]:
    """Starts of `count` segments `side` long spread evenly over [start, start + length).

    The first starts at `start`, the last ends at start + length; one segment is
    centred. Integer division keeps each step at most ceil((length - side) / (count - 1)).
    """
    if count == 1:
        return [start + (length - side) // 2]
    return [start + (i * (length - side)) // (count - 1) for i in range(count)]


def search_layout(width_px: int, height_px: int, settings: SearchSettings) -> SearchLayout:
    """The whole frame plus `settings.tiles` overlapping square tiles per row of the band.

    Tile side s = ceil((W + (n - 1) · overlap) / n), so n tiles spanning the width
    overlap by at least `overlap`; a tile taller than the frame is cut to its height.
    Rows: one, centred on the band (kept inside the frame), unless the band is taller
    than a tile; then as many as needed to span it with the same overlap.
    """
    frame: PixelRegion = (0, 0, width_px, height_px)
    overlap = tile_overlap_px(settings.max_far_face_px)
    n = settings.tiles
    if n == 0:
        return SearchLayout(frame, (), overlap)
    side = math.ceil((width_px + (n - 1) * overlap) / n)
    if side * MIN_TILE_ZOOM > max(width_px, height_px):
        return SearchLayout(frame, (), overlap)  # tiles would not magnify enough
    side_y = min(side, height_px)
    band_top = round(settings.head_band_top * height_px)
    band_height = round(settings.head_band_bottom * height_px) - band_top
    if band_height <= side_y:
        centre = band_top + band_height // 2
        ys = [min(max(centre - side_y // 2, 0), height_px - side_y)]
    else:
        rows = math.ceil((band_height - overlap) / (side_y - overlap))
        ys = spread(band_top, band_height, side_y, rows)
    xs = spread(0, width_px, side, n)
    tiles = tuple((x, y, x + side, y + side_y) for y in ys for x in xs)
    return SearchLayout(frame, tiles, overlap)


def cut_by_seam(face: Face, tile_px: PixelRegion, tiled_area_px: PixelRegion) -> bool:
    """True if the face's box reaches past an edge of the tile that another tile continues.

    Such a detection may be of a face cut in two; the neighbouring tile, which the
    overlap guarantees holds any face up to max_far_face_px whole, reports it instead.
    Edges on the tiled area's border (the frame's edge, the band's top and bottom) have
    no neighbour, so a face reaching past them is kept.
    """
    x_min, y_min, x_max, y_max = face.box_px
    tx0, ty0, tx1, ty1 = tile_px
    ax0, ay0, ax1, ay1 = tiled_area_px
    return (
        (tx0 > ax0 and x_min < tx0)
        or (tx1 < ax1 and x_max > tx1)
        or (ty0 > ay0 and y_min < ty0)
        or (ty1 < ay1 and y_max > ty1)
    )


def left_to_tiles(face: Face, layout: SearchLayout, max_far_face_px: int) -> bool:
    """True for a whole-frame detection that the tiles are there for: no wider than
    max_far_face_px, centred inside the tiled area.

    The whole-frame pass sees such a face at under ~10 px of its input: on the test
    photos every stray detection of a search (a second, misplaced box beside a far face;
    a "face" in a brick wall or a rocket's exhaust) came from it, while a tile sees
    the same face 2-3 times larger and places it well (bench/range.py).
    """
    area = layout.tiled_area_px
    if area is None or face.width_px > max_far_face_px:
        return False
    cx, cy = face.center_px
    return area[0] <= cx < area[2] and area[1] <= cy < area[3]


def merge_faces(
    faces: Sequence[Face], iou_threshold: float = MIN_SUPPRESSION_THRESHOLD
) -> list[Face]:
    """Faces found by several detector runs on one frame, merged: one per real face.

    The same weighted NMS as inside one run (blazeface.weighted_nms, which only
    compares boxes, so frame px work as well as norm), highest score first. A single
    face is returned as it is.
    """
    if len(faces) <= 1:
        return list(faces)
    merged = weighted_nms(
        np.array([f.box_px for f in faces], dtype=np.float64),
        np.array([f.keypoints_px for f in faces], dtype=np.float64).reshape(
            len(faces), NUM_KEYPOINTS, 2
        ),
        np.array([f.score for f in faces], dtype=np.float64),
        iou_threshold,
    )
    return [
        Face(
            box_px=(x_min, y_min, x_max, y_max),
            keypoints_px=tuple((x, y) for x, y in points),
            score=score,
        )
        for (x_min, y_min, x_max, y_max), points, score in zip(
            merged.boxes_norm.tolist(),
            merged.keypoints_norm.tolist(),
            merged.scores.tolist(),
            strict=True,
        )
    ]


def track_region(face: Face, width_px: int, height_px: int, face_widths: float) -> PixelRegion:
    """The square crop, face_widths times the face's larger side, centred on the face.

    Near a frame edge the square is slid inside the frame rather than cut, so the face
    keeps its scale in the model input; a square larger than the frame is cut to it.
    """
    side = max(round(face_widths * max(face.width_px, face.height_px)), MIN_TRACK_CROP_PX)
    cx, cy = face.center_px

    def axis(centre: float, length: int) -> tuple[int, int]:
        if side >= length:
            return 0, length
        start = min(max(round(centre - side / 2), 0), length - side)
        return start, start + side

    x0, x1 = axis(cx, width_px)
    y0, y1 = axis(cy, height_px)
    return (x0, y0, x1, y1)
