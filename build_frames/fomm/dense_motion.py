"""FOMM's dense-motion network: mixes K local affine motions and the background into one
dense motion field, and predicts where the source is occluded.

Paper: A. Siarohin et al., "First Order Motion Model for Image Animation", NeurIPS 2019
(arXiv:1905.13117), Sections 3.2-3.3 (eq. 5-6) and the appendix ("dense motion").
Upstream project: github.com/AliaksandrSiarohin/first-order-model (written here from the
paper and the checkpoint's key list, not from its code).
Weights: `checkpoint["generator"]["dense_motion_network.*"]` of vox-cpk.pth.tar, published by
the authors with the upstream project (licence: the project's, MIT in its current LICENSE.md,
CC BY-NC 4.0 in earlier revisions; no separate terms for the weights); trained on VoxCeleb.

State-dict keys (under `dense_motion_network.`): hourglass.encoder.down_blocks.{0-4}.*,
hourglass.decoder.up_blocks.{0-4}.*, mask.*, occlusion.*, down.weight.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from build_frames.fomm.blocks import AntiAliasDownsample, Hourglass
from build_frames.fomm.config import DenseMotionConfig
from build_frames.fomm.motion import Keypoints, heatmap_difference, sparse_motions, warp

# The mask and occlusion heads are "same" 7×7 convolutions (checkpoint: mask.weight
# (11, 108, 7, 7); 108 hourglass output channels on 64×64 in, 64×64 out).
HEAD_KERNEL = 7
HEAD_PADDING = 3


class DenseMotion(NamedTuple):
    """deformation_norm: (N, h, w, 2) driving pixel → source xy_norm; occlusion: (N, 1, h, w)
    in [0, 1], 1 where the source shows what the driving frame needs."""

    deformation_norm: Tensor
    occlusion: Tensor


class DenseMotionNetwork(nn.Module):
    """(source (N, 3, H, W) in [0, 1], kp_driving, kp_source) → DenseMotion at (H·s, W·s).

    The hourglass input, per motion m = 0 (background) … K, is [heatmap difference m, the
    source warped by sparse motion m (3 channels)]: (K+1)·(1+3) = 44 channels, in that
    order. A softmax over K+1 mask channels weighs the sparse motions into the dense field.
    """

    def __init__(self, config: DenseMotionConfig) -> None:
        super().__init__()
        self.config = config
        in_channels = (config.num_kp + 1) * (config.num_channels + 1)
        self.hourglass = Hourglass(
            config.block_expansion, in_channels, config.num_blocks, config.max_features
        )
        out = self.hourglass.out_channels
        self.mask = nn.Conv2d(out, config.num_kp + 1, HEAD_KERNEL, padding=HEAD_PADDING)
        self.occlusion = nn.Conv2d(out, 1, HEAD_KERNEL, padding=HEAD_PADDING)
        self.down = AntiAliasDownsample(config.num_channels, config.scale_factor)

    def forward(self, source: Tensor, kp_driving: Keypoints, kp_source: Keypoints) -> DenseMotion:
        return self.from_downsampled(self.down(source), kp_driving, kp_source)

    def from_downsampled(
        self, source_small: Tensor, kp_driving: Keypoints, kp_source: Keypoints
    ) -> DenseMotion:
        """As forward, given `self.down(source)` (N, 3, h, w), which a clip computes once."""
        n, c, h, w = source_small.shape
        k1 = self.config.num_kp + 1
        heatmaps = heatmap_difference(kp_driving, kp_source, h, w, self.config.kp_variance)
        motions = sparse_motions(kp_driving, kp_source, h, w)  # (N, K+1, h, w, 2)
        repeated = source_small.unsqueeze(1).expand(n, k1, c, h, w).reshape(n * k1, c, h, w)
        deformed = warp(repeated, motions.reshape(n * k1, h, w, 2)).reshape(n, k1, c, h, w)
        inputs = torch.cat([heatmaps.unsqueeze(2), deformed], dim=2).reshape(n, k1 * (c + 1), h, w)
        features = self.hourglass(inputs)
        mask = F.softmax(self.mask(features), dim=1)  # (N, K+1, h, w)
        deformation = torch.einsum("nkhw,nkhwc->nhwc", mask, motions)
        return DenseMotion(deformation, torch.sigmoid(self.occlusion(features)))
