"""FOMM's keypoint detector: K keypoints and their 2×2 Jacobians from one image.

Paper: A. Siarohin et al., "First Order Motion Model for Image Animation", NeurIPS 2019
(arXiv:1905.13117), Section 3.2 and the appendix ("keypoint detector").
Upstream project: github.com/AliaksandrSiarohin/first-order-model (written here from the
paper and the checkpoint's key list, not from its code).
Weights: `checkpoint["kp_detector"]` of vox-cpk.pth.tar, published by the authors with the
upstream project (licence: the project's, MIT in its current LICENSE.md, CC BY-NC 4.0 in
earlier revisions; no separate terms for the weights); trained on VoxCeleb.

State-dict keys: predictor.encoder.down_blocks.{0-4}.{conv,norm}.*,
predictor.decoder.up_blocks.{0-4}.{conv,norm}.*, kp.*, jacobian.*, down.weight.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from build_frames.fomm.blocks import AntiAliasDownsample, Hourglass
from build_frames.fomm.config import VOX256_KP_DETECTOR, KeypointDetectorConfig
from build_frames.fomm.motion import Keypoints, heatmap_jacobian, heatmap_to_keypoints

# The keypoint and Jacobian heads are 7×7 convolutions (checkpoint: kp.weight (10, 35, 7, 7)).
HEAD_KERNEL = 7
# Entries of a 2×2 Jacobian.
JACOBIAN_ENTRIES = 4


class KeypointDetector(nn.Module):
    """Image (N, 3, H, W) in [0, 1] → Keypoints: value_norm (N, K, 2), jacobian (N, K, 2, 2).

    The image is blurred and downsampled by `scale_factor` (256 → 64 px), the hourglass
    gives (N, block_expansion + 3, 64, 64) features, and two unpadded 7×7 heads give K
    heatmaps and 4K Jacobian maps of 58×58. Each heatmap is a softmax over its pixels at
    `temperature`; a keypoint is its heatmap's expected position on a [-1, 1] grid over the
    58×58 map, its Jacobian the heatmap-weighted mean of its four Jacobian maps.
    """

    def __init__(self, config: KeypointDetectorConfig = VOX256_KP_DETECTOR) -> None:
        super().__init__()
        self.config = config
        self.predictor = Hourglass(
            config.block_expansion, config.num_channels, config.num_blocks, config.max_features
        )
        pad = config.head_padding_px
        self.kp = nn.Conv2d(self.predictor.out_channels, config.num_kp, HEAD_KERNEL, padding=pad)
        self.jacobian = nn.Conv2d(
            self.predictor.out_channels, JACOBIAN_ENTRIES * config.num_kp, HEAD_KERNEL, padding=pad
        )
        self.down = AntiAliasDownsample(config.num_channels, config.scale_factor)

    def heatmaps(self, image: Tensor) -> tuple[Tensor, Tensor]:
        """(N, 3, H, W) → (heatmaps (N, K, h, w) summing to 1 each, jacobian maps (N, 4K, h, w))."""
        features = self.predictor(self.down(image))
        logits = self.kp(features)
        n, k, h, w = logits.shape
        heatmap = F.softmax(logits.reshape(n, k, h * w) / self.config.temperature, dim=2)
        return heatmap.reshape(n, k, h, w), self.jacobian(features)

    def forward(self, image: Tensor) -> Keypoints:
        heatmap, jacobian_map = self.heatmaps(image)
        return Keypoints(heatmap_to_keypoints(heatmap), heatmap_jacobian(heatmap, jacobian_map))
