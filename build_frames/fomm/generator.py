"""FOMM's occlusion-aware generator: encodes the source, warps its features with the dense
motion, masks them by the occlusion map and decodes the animated frame.

Paper: A. Siarohin et al., "First Order Motion Model for Image Animation", NeurIPS 2019
(arXiv:1905.13117), Section 3.3 (eq. 7) and the appendix ("generator").
Upstream project: github.com/AliaksandrSiarohin/first-order-model (written here from the
paper and the checkpoint's key list, not from its code).
Weights: `checkpoint["generator"]` of vox-cpk.pth.tar, published by the authors with the
upstream project (licence: the project's, MIT in its current LICENSE.md, CC BY-NC 4.0 in
earlier revisions; no separate terms for the weights); trained on VoxCeleb.

State-dict keys: dense_motion_network.*, first.{conv,norm}.*, down_blocks.{0,1}.*,
bottleneck.r{0-5}.{conv1,conv2,norm1,norm2}.*, up_blocks.{0,1}.*, final.*.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from build_frames.fomm.blocks import DownBlock2d, ResBlock2d, SameBlock2d, UpBlock2d
from build_frames.fomm.config import VOX256_GENERATOR, GeneratorConfig
from build_frames.fomm.dense_motion import DenseMotionNetwork
from build_frames.fomm.motion import Keypoints, warp

# `first` is a 7×7 "same" conv block; `final` a 7×7 "same" conv to RGB
# (checkpoint: first.conv.weight (64, 3, 7, 7), final.weight (3, 64, 7, 7)).
OUTER_KERNEL = 7
OUTER_PADDING = 3


class SourceEncoding(NamedTuple):
    """What the generator needs of the source, identical for every frame of a clip.

    features: (N, C_bottleneck, H/4, W/4) encoder output; small: (N, 3, H·s, W·s) the source
    as the dense-motion network sees it.
    """

    features: Tensor
    small: Tensor

    def expand(self, batch: int) -> SourceEncoding:
        """A batch-1 encoding repeated `batch` times without copying."""
        return SourceEncoding(
            self.features.expand(batch, -1, -1, -1), self.small.expand(batch, -1, -1, -1)
        )


class OcclusionAwareGenerator(nn.Module):
    """(source (N, 3, H, W) in [0, 1], kp_driving, kp_source) → frame (N, 3, H, W) in [0, 1].

    encoder: first (7×7) + num_down_blocks DownBlock2d → (N, 256, H/4, W/4); the features
    are warped by the dense motion (resized to their size if it differs) and multiplied by
    the occlusion map; then num_bottleneck_blocks ResBlock2d, UpBlock2d back to H×W, a 7×7
    conv to RGB and a sigmoid.
    """

    def __init__(self, config: GeneratorConfig = VOX256_GENERATOR) -> None:
        super().__init__()
        self.config = config
        be, mf = config.block_expansion, config.max_features

        def width(level: int) -> int:
            return min(mf, be * 2**level)

        self.dense_motion_network = DenseMotionNetwork(config.dense_motion)
        self.first = SameBlock2d(config.num_channels, be, OUTER_KERNEL, OUTER_PADDING)
        self.down_blocks = nn.ModuleList(
            DownBlock2d(width(i), width(i + 1)) for i in range(config.num_down_blocks)
        )
        n = config.num_down_blocks
        self.up_blocks = nn.ModuleList(UpBlock2d(width(n - i), width(n - i - 1)) for i in range(n))
        self.bottleneck = nn.Sequential()
        for i in range(config.num_bottleneck_blocks):
            self.bottleneck.add_module(f"r{i}", ResBlock2d(width(n)))
        self.final = nn.Conv2d(be, config.num_channels, OUTER_KERNEL, padding=OUTER_PADDING)

    def encode_source(self, source: Tensor) -> SourceEncoding:
        """(N, 3, H, W) → the per-clip SourceEncoding."""
        out = self.first(source)
        for block in self.down_blocks:
            out = block(out)
        return SourceEncoding(out, self.dense_motion_network.down(source))

    def generate(
        self, encoding: SourceEncoding, kp_driving: Keypoints, kp_source: Keypoints
    ) -> Tensor:
        """The frame for kp_driving from a source's encoding (all batch N): (N, 3, H, W)."""
        motion = self.dense_motion_network.from_downsampled(encoding.small, kp_driving, kp_source)
        features = encoding.features
        deformation, occlusion = motion.deformation_norm, motion.occlusion
        size = features.shape[2:]
        if deformation.shape[1:3] != size:
            # Only when the features and the motion field differ in size (not at 256 px,
            # where both are 64×64).
            deformation = F.interpolate(
                deformation.permute(0, 3, 1, 2), size=size, mode="bilinear", align_corners=False
            ).permute(0, 2, 3, 1)
        if occlusion.shape[2:] != size:
            occlusion = F.interpolate(occlusion, size=size, mode="bilinear", align_corners=False)
        out = warp(features, deformation) * occlusion
        out = self.bottleneck(out)
        for block in self.up_blocks:
            out = block(out)
        return torch.sigmoid(self.final(out))

    def forward(self, source: Tensor, kp_driving: Keypoints, kp_source: Keypoints) -> Tensor:
        return self.generate(self.encode_source(source), kp_driving, kp_source)
