"""Relative FOMM animation of one source image by a driving clip, in batches.

The official demo's "relative, adapt scale" mode (paper Section 3.4, eq. 8): the driver's
keypoint motion since its first frame is added to the source keypoints, scaled by the ratio
of the two faces' keypoint-hull sizes. What is the same for every frame of a clip — the
source keypoints, the source's encoder features and downsampled image, the first driving
frame's keypoints and the scale — is computed once, not per frame.

Images cross this module as (N, H, W, 3) uint8 RGB arrays; tensors inside are (N, 3, H, W)
float in [0, 1] on the models' device.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor
from tqdm import tqdm

from build_frames.fomm.blocks import fold_upsampling, fuse_batchnorm
from build_frames.fomm.generator import OcclusionAwareGenerator, SourceEncoding
from build_frames.fomm.keypoint_detector import KeypointDetector
from build_frames.fomm.motion import Keypoints, movement_scale, relative_keypoints

# Driving frames per forward pass. On a 2-core CPU batches of 4-8 are slower per frame than
# single frames (bench/fomm.py: the larger working set spills the caches); on a GPU batches
# fill the device, and 8 frames of 256×256 need well under 1 GB.
CPU_BATCH_SIZE = 1
CUDA_BATCH_SIZE = 8
MAX_PIXEL = 255.0

Images = npt.NDArray[np.uint8]


def optimise_for_inference(
    kp_detector: KeypointDetector,
    generator: OcclusionAwareGenerator,
    fold_upsampling_convs: bool = True,
    channels_last: bool = False,
) -> None:
    """Exact rewrites for speed, in place, after loading the checkpoint (the rewritten
    modules no longer have its keys): batch norms folded into their convs, each nearest
    upsampling folded into the conv after it (4/9 of the multiply-adds), and optionally
    weights stored channels-last. Same function to float rounding; figures in bench/fomm.py.
    """
    for model in (kp_detector, generator):
        model.eval().requires_grad_(False)
        fuse_batchnorm(model)
        if fold_upsampling_convs:
            fold_upsampling(model)
        if channels_last:
            model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]


def _memory_format(generator: OcclusionAwareGenerator) -> torch.memory_format:
    """channels_last when the generator's weights are stored so (the input should match)."""
    weight = generator.first.conv.weight
    if weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


def images_to_tensor(
    images_rgb: Images, device: torch.device, memory_format: torch.memory_format
) -> Tensor:
    """(N, H, W, 3) uint8 → (N, 3, H, W) float32 in [0, 1] on `device`."""
    array = np.ascontiguousarray(images_rgb)
    if array.ndim != 4 or array.shape[-1] != 3 or array.dtype != np.uint8:
        raise ValueError(f"expected (N, H, W, 3) uint8 images, got {array.shape} {array.dtype}")
    tensor = torch.from_numpy(array).to(device).permute(0, 3, 1, 2).float() / MAX_PIXEL
    return tensor.contiguous(memory_format=memory_format)


def tensor_to_images(frames: Tensor) -> Images:
    """(N, 3, H, W) float in [0, 1] → (N, H, W, 3) uint8, rounded."""
    scaled = (frames.clamp(0.0, 1.0) * MAX_PIXEL).round().to(torch.uint8)
    return scaled.permute(0, 2, 3, 1).contiguous().cpu().numpy()


class ClipAnimator:
    """The per-clip state of a relative animation: source and first-driving-frame results.

    source_rgb: (H, W, 3) uint8; first_driving_rgb: (H, W, 3) uint8, the driving clip's
    reference frame (relative motion is measured from it). adapt_movement_scale: scale the
    driver's motion by sqrt(source hull area / driving hull area) (the official demo's
    --adapt_scale), else 1. Call under torch.inference_mode().
    """

    def __init__(
        self,
        kp_detector: KeypointDetector,
        generator: OcclusionAwareGenerator,
        source_rgb: Images,
        first_driving_rgb: Images,
        adapt_movement_scale: bool = True,
    ) -> None:
        self.kp_detector = kp_detector
        self.generator = generator
        self.device = generator.final.weight.device
        self.memory_format = _memory_format(generator)
        pair = self.to_tensor(np.stack([source_rgb, first_driving_rgb]))
        keypoints = kp_detector(pair)
        self.kp_source: Keypoints = keypoints.select(slice(0, 1))
        self.kp_initial: Keypoints = keypoints.select(slice(1, 2))
        self.encoding: SourceEncoding = generator.encode_source(pair[:1])
        self.scale = (
            movement_scale(self.kp_source, self.kp_initial) if adapt_movement_scale else 1.0
        )

    def to_tensor(self, images_rgb: Images) -> Tensor:
        return images_to_tensor(images_rgb, self.device, self.memory_format)

    def driving_keypoints(self, driving: Tensor) -> Keypoints:
        """(B, 3, H, W) driving frames → the source keypoints moved as the driver moved."""
        return relative_keypoints(
            self.kp_source, self.kp_detector(driving), self.kp_initial, self.scale
        )

    def generate(self, kp_driving: Keypoints) -> Tensor:
        """Relative keypoints for B frames → (B, 3, H, W) frames in [0, 1]."""
        batch = kp_driving.value_norm.shape[0]
        return self.generator.generate(
            self.encoding.expand(batch), kp_driving, self.kp_source.expand(batch)
        )

    def __call__(self, driving_rgb: Images) -> Images:
        """(B, H, W, 3) uint8 driving frames → (B, H, W, 3) uint8 animated source frames."""
        return tensor_to_images(self.generate(self.driving_keypoints(self.to_tensor(driving_rgb))))


def default_batch_size(device: torch.device) -> int:
    return CUDA_BATCH_SIZE if device.type == "cuda" else CPU_BATCH_SIZE


def _batches(count: int, batch_size: int) -> Iterator[slice]:
    for start in range(0, count, batch_size):
        yield slice(start, min(start + batch_size, count))


def animate(
    kp_detector: KeypointDetector,
    generator: OcclusionAwareGenerator,
    source_rgb: Images,
    driving_rgb: Images,
    batch_size: int | None = None,
    adapt_movement_scale: bool = True,
    progress: bool = True,
) -> Images:
    """The source animated by every driving frame, relative to the first one.

    source_rgb: (H, W, 3) uint8; driving_rgb: (N, H, W, 3) uint8, same H and W (256 for the
    official model). Runs on the models' device (see checkpoint.load_fomm) under
    torch.inference_mode(), `batch_size` frames at a time (default: default_batch_size of
    that device), with a tqdm bar on stderr when `progress`. Returns (N, H, W, 3) uint8.
    """
    if batch_size is None:
        batch_size = default_batch_size(generator.final.weight.device)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size!r}")
    if len(driving_rgb) == 0:
        raise ValueError("no driving frames")
    if source_rgb.shape != driving_rgb.shape[1:]:
        raise ValueError(
            f"source {source_rgb.shape} and driving frames {driving_rgb.shape[1:]} differ in size"
        )
    out = np.empty_like(driving_rgb)
    with torch.inference_mode():
        animator = ClipAnimator(
            kp_detector, generator, source_rgb, driving_rgb[0], adapt_movement_scale
        )
        with tqdm(total=len(driving_rgb), unit="frame", desc="FOMM", disable=not progress) as bar:
            for batch in _batches(len(driving_rgb), batch_size):
                out[batch] = animator(driving_rgb[batch])
                bar.update(batch.stop - batch.start)
    return out
