"""Hyper-parameters of the three FOMM networks; the defaults are the official `vox-256` face model.

Every default below is read off the upstream `config/vox-256.yaml` (model_params) and agrees
with the shapes of the `vox-cpk.pth.tar` state dicts (tests/build_frames/fomm/data/
vox256_state_dict_keys.txt). Smaller values are only for fast tests and benches.
"""

from __future__ import annotations

from dataclasses import dataclass

# The face model sees 256×256 RGB crops in [0, 1] (dataset_params.frame_shape).
IMAGE_SIZE_PX = 256
NUM_CHANNELS = 3
# Keypoints with a 2×2 Jacobian each (common_params: num_kp, estimate_jacobian).
NUM_KP = 10
# Variance of the Gaussians that stand for each keypoint in the dense-motion network's input,
# in the [-1, 1] coordinate units (FOMM's kp_variance; the paper's heatmap representation).
KP_VARIANCE = 0.01


@dataclass(frozen=True)
class KeypointDetectorConfig:
    """The keypoint detector: an hourglass on the image downsampled by `scale_factor`.

    temperature: softmax temperature of the heatmaps (lower = peakier).
    head_padding_px: padding of the 7×7 keypoint/Jacobian heads; 0 in vox-256, so the
        heatmaps are 6 px smaller than the hourglass output (58×58 from 64×64).
    """

    num_kp: int = NUM_KP
    num_channels: int = NUM_CHANNELS
    block_expansion: int = 32
    max_features: int = 1024
    num_blocks: int = 5
    scale_factor: float = 0.25
    temperature: float = 0.1
    head_padding_px: int = 0


@dataclass(frozen=True)
class DenseMotionConfig:
    """The dense-motion hourglass, on the source downsampled by `scale_factor`."""

    num_kp: int = NUM_KP
    num_channels: int = NUM_CHANNELS
    block_expansion: int = 64
    max_features: int = 1024
    num_blocks: int = 5
    scale_factor: float = 0.25
    kp_variance: float = KP_VARIANCE


@dataclass(frozen=True)
class GeneratorConfig:
    """The occlusion-aware generator: encoder, warp, residual bottleneck, decoder."""

    num_channels: int = NUM_CHANNELS
    block_expansion: int = 64
    max_features: int = 512
    num_down_blocks: int = 2
    num_bottleneck_blocks: int = 6
    dense_motion: DenseMotionConfig = DenseMotionConfig()


VOX256_KP_DETECTOR = KeypointDetectorConfig()
VOX256_GENERATOR = GeneratorConfig()
