"""FOMM's motion maths: keypoints from heatmaps, local affine motions, relative animation.

Pure tensor functions, no learned weights. Paper: Siarohin et al., "First Order Motion Model
for Image Animation", NeurIPS 2019, Sections 3.1-3.4 (eq. 4 the first-order motion near a
keypoint, eq. 8 relative motion transfer).

Coordinates (`*_norm` throughout): x then y, each in [-1, 1] from the centre of the first
pixel to the centre of the last one (grid end points included), the convention of
`grid_sample(..., align_corners=True)`. A "motion" maps a pixel of the frame being generated
(driving pose) to where it is read from in the source image.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import Tensor

# Below this hull area (in [-1, 1]² units) the driving keypoints are degenerate (collinear or
# coincident) and the movement scale is undefined; the official code fails there, we use 1.
MIN_HULL_AREA = 1e-8


class Keypoints(NamedTuple):
    """Keypoints of a batch: value_norm (N, K, 2) xy, jacobian (N, K, 2, 2) row-major."""

    value_norm: Tensor
    jacobian: Tensor

    def expand(self, batch: int) -> Keypoints:
        """A batch-1 set repeated `batch` times without copying."""
        return Keypoints(
            self.value_norm.expand(batch, -1, -1), self.jacobian.expand(batch, -1, -1, -1)
        )

    def select(self, index: slice) -> Keypoints:
        return Keypoints(self.value_norm[index], self.jacobian[index])


def coordinate_grid(
    height: int, width: int, dtype: torch.dtype = torch.float32, device: torch.device | None = None
) -> Tensor:
    """(H, W, 2) grid of xy_norm: [..., 0] = x = -1 … 1 over the columns, [..., 1] = y over rows."""
    x = torch.linspace(-1.0, 1.0, width, dtype=dtype, device=device)
    y = torch.linspace(-1.0, 1.0, height, dtype=dtype, device=device)
    return torch.stack(
        [x.view(1, width).expand(height, width), y.view(height, 1).expand(height, width)], dim=-1
    )


def heatmap_to_keypoints(heatmap: Tensor) -> Tensor:
    """Expected xy_norm of each (N, K, H, W) heatmap that sums to 1: (N, K, 2)."""
    grid = coordinate_grid(heatmap.shape[2], heatmap.shape[3], heatmap.dtype, heatmap.device)
    return torch.einsum("nkhw,hwc->nkc", heatmap, grid)


def heatmap_jacobian(heatmap: Tensor, jacobian_map: Tensor) -> Tensor:
    """Heatmap-weighted average of a per-pixel Jacobian map.

    heatmap: (N, K, H, W), each map sums to 1. jacobian_map: (N, 4K, H, W), channels
    k·4 + (0, 1, 2, 3) = keypoint k's J00, J01, J10, J11. Returns (N, K, 2, 2).
    """
    n, k, h, w = heatmap.shape
    maps = jacobian_map.reshape(n, k, 4, h, w)
    return torch.einsum("nkjhw,nkhw->nkj", maps, heatmap).reshape(n, k, 2, 2)


def invert_2x2(matrix: Tensor) -> Tensor:
    """Inverse of every (..., 2, 2) matrix in closed form: adjugate / determinant."""
    a, b = matrix[..., 0, 0], matrix[..., 0, 1]
    c, d = matrix[..., 1, 0], matrix[..., 1, 1]
    det = a * d - b * c
    adjugate = torch.stack([torch.stack([d, -b], -1), torch.stack([-c, a], -1)], -2)
    return adjugate / det[..., None, None]


def keypoint_gaussians(value_norm: Tensor, height: int, width: int, variance: float) -> Tensor:
    """exp(-|z - kp|² / (2·variance)) on the (H, W) grid for every keypoint: (N, K, H, W)."""
    grid = coordinate_grid(height, width, value_norm.dtype, value_norm.device)
    diff = grid[None, None] - value_norm[:, :, None, None, :]
    return torch.exp(-0.5 * (diff**2).sum(-1) / variance)


def heatmap_difference(
    kp_driving: Keypoints, kp_source: Keypoints, height: int, width: int, variance: float
) -> Tensor:
    """The dense-motion network's keypoint input: driving minus source Gaussians, with an
    all-zero map for the background in front. (N, K+1, H, W)."""
    diff = keypoint_gaussians(kp_driving.value_norm, height, width, variance) - (
        keypoint_gaussians(kp_source.value_norm, height, width, variance)
    )
    return F.pad(diff, (0, 0, 0, 0, 1, 0))


def sparse_motions(kp_driving: Keypoints, kp_source: Keypoints, height: int, width: int) -> Tensor:
    """The K+1 candidate motions, driving pixel → source position: (N, K+1, H, W, 2) xy_norm.

    Motion 0 is the background (identity). Motion k+1 is keypoint k's first-order (affine)
    approximation, paper eq. 4: T(z) = s_k + J_s,k · J_d,k⁻¹ · (z − d_k).
    """
    grid = coordinate_grid(height, width, kp_source.value_norm.dtype, kp_source.value_norm.device)
    affine = kp_source.jacobian @ invert_2x2(kp_driving.jacobian)  # (N, K, 2, 2)
    offset = grid[None, None] - kp_driving.value_norm[:, :, None, None, :]  # (N, K, H, W, 2)
    local = torch.einsum("nkij,nkhwj->nkhwi", affine, offset)
    local = local + kp_source.value_norm[:, :, None, None, :]
    background = grid[None, None].expand(local.shape[0], 1, height, width, 2)
    return torch.cat([background, local], dim=1)


def warp(image: Tensor, motion_norm: Tensor) -> Tensor:
    """Bilinear backward warp: out[n, :, y, x] = image[n, :, at motion_norm[n, y, x]].

    image: (N, C, H, W); motion_norm: (N, H', W', 2) xy_norm; returns (N, C, H', W'), zero
    outside the image. align_corners=True on purpose: the checkpoint was trained on torch 1.0,
    whose grid_sample mapped -1/+1 to the centres of the corner pixels (today's default,
    False, maps them to the outer pixel edges and would shift and rescale every warp).
    """
    return F.grid_sample(
        image, motion_norm, mode="bilinear", padding_mode="zeros", align_corners=True
    )


def hull_area(points_xy: npt.ArrayLike) -> float:
    """Area of the convex hull of (P, 2) points (Andrew's monotone chain + shoelace)."""
    pts = sorted({(float(x), float(y)) for x, y in np.asarray(points_xy, np.float64)})
    if len(pts) < 3:
        return 0.0

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    def half(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        chain: list[tuple[float, float]] = []
        for p in points:
            while len(chain) >= 2 and cross(chain[-2], chain[-1], p) <= 0:
                chain.pop()
            chain.append(p)
        return chain[:-1]

    hull = half(pts) + half(pts[::-1])
    xs = np.array([p[0] for p in hull])
    ys = np.array([p[1] for p in hull])
    return float(0.5 * abs(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))))


def movement_scale(kp_source: Keypoints, kp_driving_initial: Keypoints) -> float:
    """sqrt(source hull area / initial driving hull area), from the first batch item of each.

    Makes a driver whose face fills less of the frame move the portrait's keypoints as far,
    relatively, as their own moved (the official demo's adapt_scale).
    """
    source_area = hull_area(kp_source.value_norm[0].detach().cpu().numpy())
    driving_area = hull_area(kp_driving_initial.value_norm[0].detach().cpu().numpy())
    if driving_area < MIN_HULL_AREA:
        return 1.0
    return float(np.sqrt(source_area / driving_area))


def relative_keypoints(
    kp_source: Keypoints,
    kp_driving: Keypoints,
    kp_driving_initial: Keypoints,
    scale: float,
) -> Keypoints:
    """Paper eq. 8: the source keypoints moved as the driver moved since its first frame.

    value = s + scale · (d − d_initial); jacobian = J_d · J_d_initial⁻¹ · J_s.
    kp_source and kp_driving_initial are batch 1 (or the driving batch); kp_driving is the
    batch being animated. Returns that batch's keypoints for the generator.
    """
    value = kp_source.value_norm + scale * (kp_driving.value_norm - kp_driving_initial.value_norm)
    jacobian = kp_driving.jacobian @ invert_2x2(kp_driving_initial.jacobian) @ kp_source.jacobian
    return Keypoints(value, jacobian)
