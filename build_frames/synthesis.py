"""The `eyes` method: every gaze frame of a portrait at its native resolution.

For each (yaw, pitch) cell of the gaze table, each iris moves inside its eye opening
(build_frames/eyes.py) by the eyeball model of build_frames/gaze.py; with a head turn,
the head is then warped by the mesh (build_frames/headturn.py). The result is blended
into the painting (build_frames/blend.py) and returned as edits: the rectangles of the
painting a frame changes, with their new pixels.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from build_frames import blend, gaze, headturn
from build_frames.analysis import FaceAnalysis
from build_frames.errors import OptionError
from build_frames.eyes import EyeLayer, prepare_eye, render_eye
from device.pack import PatchRect

U8 = npt.NDArray[np.uint8]
Edit = tuple[PatchRect, U8]

# The head box (what alpha's r is normalised by) is a square this many times the face
# mesh's larger side, centred on it: about what a FOMM head crop holds (face, hair, neck).
HEAD_BOX_FACE_SCALE = 2.0


@dataclass(frozen=True)
class GazeTable:
    """The pack's gaze grid: ascending yaw and pitch angles (degrees)."""

    yaw_deg: tuple[float, ...]
    pitch_deg: tuple[float, ...]

    def cells(self) -> Iterator[tuple[float, float]]:
        """(yaw, pitch) in pack order: pitch rows, yaw within a row."""
        for pitch in self.pitch_deg:
            for yaw in self.yaw_deg:
                yield yaw, pitch

    @property
    def n_frames(self) -> int:
        return len(self.yaw_deg) * len(self.pitch_deg)


def gaze_table(
    frames: int,
    yaw_range: Sequence[float],
    pitch_range: Sequence[float] = (0.0, 0.0),
    pitch_rows: int = 1,
) -> GazeTable:
    """Evenly spaced yaw (and pitch) angles; OptionError naming the bad option."""
    if frames < 2:
        raise OptionError(f"--frames {frames}: a pack needs at least 2 yaw frames")
    lo, hi = (float(v) for v in yaw_range)
    if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise OptionError(f"--yaw-range {lo:g} {hi:g}: the first angle must be below the second")
    if max(abs(lo), abs(hi)) > 90:
        raise OptionError(f"--yaw-range {lo:g} {hi:g}: angles must lie within -90..90 degrees")
    if pitch_rows < 1:
        raise OptionError(f"--pitch-rows {pitch_rows}: must be at least 1")
    plo, phi = (float(v) for v in pitch_range)
    if not (math.isfinite(plo) and math.isfinite(phi)) or max(abs(plo), abs(phi)) > 90:
        raise OptionError(f"--pitch-range {plo:g} {phi:g}: angles must lie within -90..90")
    if pitch_rows > 1 and not plo < phi:
        raise OptionError(
            f"--pitch-range {plo:g} {phi:g} with --pitch-rows {pitch_rows}: the first angle "
            "must be below the second"
        )
    yaw = tuple(float(a) for a in np.linspace(lo, hi, frames))
    pitch = (
        ((plo + phi) / 2,)
        if pitch_rows == 1
        else tuple(float(a) for a in np.linspace(plo, phi, pitch_rows))
    )
    return GazeTable(yaw, pitch)


def head_box(analysis: FaceAnalysis) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) px: the square head box around the face mesh (may leave the image)."""
    x0, y0, x1, y1 = analysis.face_box_px
    half = HEAD_BOX_FACE_SCALE * max(x1 - x0, y1 - y0) / 2
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return cx - half, cy - half, cx + half, cy + half


class EyesSynthesis:
    """Renders the gaze frames of one analysed portrait.

    image: (H, W, 3) uint8. alpha: the blend. head_turn_deg: the head's turn at the end
    of yaw_range farther from the portrait's own gaze (0: eyes only).
    """

    def __init__(
        self,
        image: U8,
        analysis: FaceAnalysis,
        alpha: blend.AlphaSpec,
        head_turn_deg: float,
        yaw_range: tuple[float, float],
    ) -> None:
        if not 0 <= head_turn_deg <= headturn.MAX_HEAD_TURN_DEG:
            raise OptionError(
                f"--head-turn {head_turn_deg:g}: a subtle turn is 0 to "
                f"{headturn.MAX_HEAD_TURN_DEG:g} degrees"
            )
        self.image = image
        self.analysis = analysis
        self.alpha = alpha
        self.head_turn_deg = float(head_turn_deg)
        self.yaw_range = yaw_range
        self.layers: list[EyeLayer] = [prepare_eye(image, eye) for eye in analysis.eyes]
        poses = [layer.pose for layer in self.layers]
        self.original_yaw_deg = gaze.original_yaw_deg(poses)
        self.eyeball_radius_px = gaze.eyeball_radius_px(poses)
        size = (image.shape[1], image.shape[0])
        self._eye_alpha = [blend.alpha_map(alpha, layer.rect) for layer in self.layers]
        self.region = blend.support_rect(alpha, size)
        self._fields: tuple[np.ndarray, np.ndarray] | None = None
        self._fade: np.ndarray | None = None
        if self.head_turn_deg:
            self._fade = blend.alpha_map(alpha, self.region)
            self._fields = self._unit_fields(self._fade)

    def _unit_fields(self, fade: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fields of (x − xc) and −(z − zc) over the region, faded by alpha: a turn ψ
        shifts by the first × (cos ψ − 1) plus the second × sin ψ."""
        mesh = self.analysis.mesh_px
        x0, _, x1, _ = self.analysis.face_box_px
        width = x1 - x0
        sigma = headturn.SPLAT_SIGMA_FACE_WIDTHS * width
        xc = float(mesh[:, 0].mean())
        zc = float(mesh[:, 2].mean()) + headturn.PIVOT_DEPTH_FACE_WIDTHS * width
        fx = headturn.shift_field(mesh[:, :2], mesh[:, 0] - xc, self.region, sigma) * fade
        fz = headturn.shift_field(mesh[:, :2], -(mesh[:, 2] - zc), self.region, sigma) * fade
        return fx, fz

    def head_turn_for(self, yaw_deg: float) -> float:
        return headturn.head_turn_for_yaw(
            yaw_deg, self.original_yaw_deg, self.yaw_range, self.head_turn_deg
        )

    def _eye(self, layer: EyeLayer, yaw_deg: float, pitch_deg: float) -> U8:
        along, up = gaze.iris_travel_px(
            yaw_deg, pitch_deg, self.original_yaw_deg, 0.0, self.eyeball_radius_px
        )
        along, up = gaze.clamp_travel(layer.pose, along, up)
        shift = gaze.iris_shift_px(layer.pose, along, up)
        return render_eye(layer, shift)

    def frame(self, yaw_deg: float, pitch_deg: float) -> list[Edit]:
        """The edits (rect, new pixels) that make the frame for (yaw, pitch)."""
        turn = self.head_turn_for(yaw_deg)
        # The warp turns the lids with the head; the iris turns the rest of the way.
        eye_yaw = yaw_deg - turn
        if self._fields is None or self._fade is None or turn == 0:
            return [
                (
                    layer.rect,
                    blend.blend(
                        self.image[layer.rect.slices], self._eye(layer, eye_yaw, pitch_deg), a
                    ),
                )
                for layer, a in zip(self.layers, self._eye_alpha, strict=True)
            ]
        region = self.region
        head = self.image[region.slices].copy()
        for layer in self.layers:
            r = layer.rect
            head[
                r.y - region.y : r.y - region.y + r.height,
                r.x - region.x : r.x - region.x + r.width,
            ] = self._eye(layer, eye_yaw, pitch_deg)
        psi = math.radians(turn)
        fx, fz = self._fields
        field = (fx * (math.cos(psi) - 1.0) + fz * math.sin(psi)).astype(np.float32)
        warped = headturn.warp_horizontal(head, field)
        return [(region, blend.blend(self.image[region.slices], warped, self._fade))]
