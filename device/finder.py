"""The face finder: search the room for viewers, then track the one being looked at.

    finder = FaceFinder(detector, SearchSettings())
    finding = finder.find(image_rgb)      # a search: whole frame + tiles, merged
    finder.follow(finding.faces[0])       # from now on: one crop around that face
    finding = finder.find(next_image)     # a track; no face found → follow(None)

The finder only decides where the detector runs and maps nothing itself: the detector
returns faces in frame pixels whatever the region. Which face to follow is the caller's
choice (GazePipeline follows the viewer the gaze tracker picked), so the finder holds no
opinion about who the viewer is.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from device.blazeface import PixelRegion
from device.detector import Detector
from device.faces import Face
from device.search import (
    SearchLayout,
    SearchSettings,
    cut_by_seam,
    left_to_tiles,
    merge_faces,
    search_layout,
    track_region,
)


class DetectionMode(StrEnum):
    """What the detector did for one camera frame."""

    IDLE = "idle"  # nothing: the room is empty and the next search is not due yet
    SEARCH = "search"  # the whole frame plus the tiles
    TRACK = "track"  # one crop around the followed face


@dataclass(frozen=True)
class Finding:
    """The faces found in one frame (frame px, highest score first), how, and where.

    regions_px: the rectangles the detector ran on, the whole frame first for a search.
    """

    mode: DetectionMode
    faces: tuple[Face, ...]
    regions_px: tuple[PixelRegion, ...]


class FaceFinder:
    """Runs a Detector as a search or a track; see the module docstring."""

    def __init__(self, detector: Detector, settings: SearchSettings | None = None) -> None:
        self.detector = detector
        self.settings = SearchSettings() if settings is None else settings
        self._following: Face | None = None
        self._layout: SearchLayout | None = None

    @property
    def following(self) -> Face | None:
        """The face the next find() tracks; None: it searches."""
        return self._following

    def follow(self, face: Face | None) -> None:
        """Track `face` (frame px) from the next frame on; None goes back to searching."""
        self._following = face

    def layout(self, width_px: int, height_px: int) -> SearchLayout:
        """The search layout for this frame size (computed once per size)."""
        if self._layout is None or self._layout.frame_px[2:] != (width_px, height_px):
            self._layout = search_layout(width_px, height_px, self.settings)
        return self._layout

    def find(self, image_rgb: npt.NDArray[np.uint8]) -> Finding:
        """Search, or track the followed face. image_rgb: (H, W, 3) uint8."""
        if self._following is None:
            return self.search(image_rgb)
        return self.track(image_rgb, self._following)

    def search(self, image_rgb: npt.NDArray[np.uint8]) -> Finding:
        """The whole frame, then every tile; each pass keeps the faces it is there for
        (no small faces in the band from the whole frame, none cut by a seam from a
        tile); merged."""
        height, width = image_rgb.shape[:2]
        layout = self.layout(width, height)
        far_px = self.settings.max_far_face_px
        found = [f for f in self.detector.detect(image_rgb) if not left_to_tiles(f, layout, far_px)]
        area = layout.tiled_area_px
        for tile in layout.tiles_px:
            assert area is not None
            found.extend(
                f for f in self.detector.detect(image_rgb, tile) if not cut_by_seam(f, tile, area)
            )
        return Finding(DetectionMode.SEARCH, tuple(merge_faces(found)), layout.regions_px)

    def track(self, image_rgb: npt.NDArray[np.uint8], face: Face) -> Finding:
        """One detection on the crop around `face` (frame px)."""
        height, width = image_rgb.shape[:2]
        region = track_region(face, width, height, self.settings.track_crop_face_widths)
        faces = self.detector.detect(image_rgb, region)
        return Finding(DetectionMode.TRACK, tuple(faces), (region,))
