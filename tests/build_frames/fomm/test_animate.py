"""Batched relative animation with small random networks (the official ones are timed in
bench/fomm.py; their shapes are tested in test_networks.py)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from build_frames.fomm.animate import (  # noqa: E402
    ClipAnimator,
    animate,
    images_to_tensor,
    optimise_for_inference,
    tensor_to_images,
)
from build_frames.fomm.config import (  # noqa: E402
    DenseMotionConfig,
    GeneratorConfig,
    KeypointDetectorConfig,
)
from build_frames.fomm.generator import OcclusionAwareGenerator  # noqa: E402
from build_frames.fomm.keypoint_detector import KeypointDetector  # noqa: E402

SIZE_PX = 128  # smallest size the 5-level hourglasses at scale 0.25 accept
TINY_KP = KeypointDetectorConfig(num_kp=5, block_expansion=4, max_features=16)
TINY_GEN = GeneratorConfig(
    block_expansion=8,
    max_features=32,
    num_bottleneck_blocks=2,
    dense_motion=DenseMotionConfig(num_kp=5, block_expansion=4, max_features=16),
)


@pytest.fixture()
def models():
    """Small random networks, scaled so that keypoints spread over the image and the frames
    depend on them (at their default initialisation the outputs are almost constant)."""
    torch.manual_seed(0)
    kp_detector = KeypointDetector(TINY_KP).eval()
    generator = OcclusionAwareGenerator(TINY_GEN).eval()
    with torch.no_grad():
        kp_detector.kp.weight.mul_(50.0)
        kp_detector.jacobian.weight.mul_(2.0)
        kp_detector.jacobian.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 1.0]).repeat(TINY_KP.num_kp))
        generator.final.weight.mul_(20.0)
        generator.dense_motion_network.mask.weight.mul_(20.0)
    return kp_detector, generator


def images(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, SIZE_PX, SIZE_PX, 3), dtype=np.uint8)


def test_image_tensor_round_trip():
    batch = images(2, 0)
    tensor = images_to_tensor(batch, torch.device("cpu"), torch.contiguous_format)
    assert tensor.shape == (2, 3, SIZE_PX, SIZE_PX) and tensor.dtype == torch.float32
    assert float(tensor.max()) <= 1.0
    np.testing.assert_array_equal(tensor_to_images(tensor), batch)


def test_animation_shape_and_batching_do_not_change_the_frames(models):
    kp_detector, generator = models
    source, driving = images(1, 1)[0], images(7, 2)
    one_by_one = animate(kp_detector, generator, source, driving, batch_size=1, progress=False)
    batched = animate(kp_detector, generator, source, driving, batch_size=3, progress=False)
    assert one_by_one.shape == driving.shape and one_by_one.dtype == np.uint8
    assert one_by_one.std() > 5.0  # a picture, not a flat grey
    assert np.abs(one_by_one[1:].astype(int) - one_by_one[0]).max() > 2  # the driver matters
    assert np.abs(one_by_one.astype(int) - batched.astype(int)).max() <= 1


def test_per_clip_state_is_the_full_model_run_per_frame(models):
    """The cached source encoding and keypoints give what the generator's own forward gives."""
    kp_detector, generator = models
    source, driving = images(1, 3)[0], images(3, 4)
    with torch.inference_mode():
        animator = ClipAnimator(kp_detector, generator, source, driving[0])
        frames = animator.to_tensor(driving)
        kp_driving = animator.driving_keypoints(frames)
        cached = animator.generate(kp_driving)
        full = generator(
            animator.to_tensor(np.repeat(source[None], 3, axis=0)),
            kp_driving,
            kp_detector(animator.to_tensor(source[None])).expand(3),
        )
    torch.testing.assert_close(cached, full)


def test_first_driving_frame_drives_the_source_keypoints_unchanged(models):
    kp_detector, generator = models
    source, driving = images(1, 5)[0], images(2, 6)
    with torch.inference_mode():
        animator = ClipAnimator(kp_detector, generator, source, driving[0])
        kp = animator.driving_keypoints(animator.to_tensor(driving[:1]))
    torch.testing.assert_close(kp.value_norm, animator.kp_source.value_norm)
    torch.testing.assert_close(kp.jacobian, animator.kp_source.jacobian)


def test_optimised_models_give_the_same_frames(models):
    kp_detector, generator = models
    source, driving = images(1, 7)[0], images(3, 8)
    plain = animate(kp_detector, generator, source, driving, progress=False)
    fast_kp, fast_gen = copy.deepcopy(kp_detector), copy.deepcopy(generator)
    optimise_for_inference(fast_kp, fast_gen, channels_last=True)
    fast = animate(fast_kp, fast_gen, source, driving, progress=False)
    assert np.abs(plain.astype(int) - fast.astype(int)).max() <= 1


def test_animate_rejects_mismatched_inputs(models):
    kp_detector, generator = models
    with pytest.raises(ValueError, match="differ in size"):
        animate(kp_detector, generator, images(1, 0)[0, :64], images(2, 1), progress=False)
    with pytest.raises(ValueError, match="no driving frames"):
        animate(kp_detector, generator, images(1, 0)[0], images(0, 1), progress=False)
