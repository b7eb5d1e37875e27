"""The three networks: output shapes at 256×256, and hand-built weights whose outputs are
known, to check the conventions the official checkpoint depends on."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from build_frames.fomm.blocks import (  # noqa: E402
    FOLD_MIN_SIDE_PX,
    AntiAliasDownsample,
    ConvNormRelu,
    ResBlock2d,
    UpBlock2d,
    fold_upsampling,
    fuse_batchnorm,
)
from build_frames.fomm.config import (  # noqa: E402
    DenseMotionConfig,
    GeneratorConfig,
    KeypointDetectorConfig,
)
from build_frames.fomm.generator import OcclusionAwareGenerator  # noqa: E402
from build_frames.fomm.keypoint_detector import KeypointDetector  # noqa: E402
from build_frames.fomm.motion import Keypoints, coordinate_grid  # noqa: E402

TINY_KP = KeypointDetectorConfig(num_kp=4, block_expansion=4, max_features=16)
TINY_GEN = GeneratorConfig(
    block_expansion=4,
    max_features=16,
    num_bottleneck_blocks=2,
    dense_motion=DenseMotionConfig(num_kp=4, block_expansion=4, max_features=16, num_blocks=3),
)
# A large logit: softmax/sigmoid of ±this is 0 or 1 to float32 precision.
SATURATE = 30.0


def identity_jacobians(n: int, k: int) -> torch.Tensor:
    return torch.eye(2).expand(n, k, 2, 2).clone()


def test_anti_alias_filter_is_the_vox256_gaussian():
    down = AntiAliasDownsample(3, 0.25)
    assert down.weight.shape == (3, 1, 13, 13)  # sigma 1.5, 2·round(6)+1 taps
    kernel = down.weight[0, 0]
    torch.testing.assert_close(kernel.sum(), torch.tensor(1.0))
    assert kernel.argmax() == 6 * 13 + 6  # centred
    profile = kernel[6] / kernel[6, 6]
    torch.testing.assert_close(profile[7], torch.exp(torch.tensor(-1 / (2 * 1.5**2))))
    # Blur then keep every 4th pixel, starting with the first.
    image = torch.rand(2, 3, 64, 48)
    blurred = F.conv2d(F.pad(image, (6, 6, 6, 6)), down.weight, groups=3)
    torch.testing.assert_close(down(image), blurred[:, :, ::4, ::4])


def test_keypoint_detector_shapes_at_256():
    torch.manual_seed(0)
    detector = KeypointDetector().eval()
    with torch.inference_mode():
        heatmap, jacobian_map = detector.heatmaps(torch.rand(2, 3, 256, 256))
        kp = detector(torch.rand(2, 3, 256, 256))
    assert heatmap.shape == (2, 10, 58, 58)  # 64 px hourglass output, unpadded 7×7 head
    assert jacobian_map.shape == (2, 40, 58, 58)
    torch.testing.assert_close(heatmap.sum(dim=(2, 3)), torch.ones(2, 10))
    assert kp.value_norm.shape == (2, 10, 2) and kp.jacobian.shape == (2, 10, 2, 2)
    assert kp.value_norm.abs().max() <= 1.0


def test_generator_shapes_at_256():
    torch.manual_seed(0)
    generator = OcclusionAwareGenerator().eval()
    kp = Keypoints(torch.rand(2, 10, 2) - 0.5, identity_jacobians(2, 10))
    source = torch.rand(2, 3, 256, 256)
    with torch.inference_mode():
        encoding = generator.encode_source(source)
        motion = generator.dense_motion_network.from_downsampled(encoding.small, kp, kp)
        frame = generator.generate(encoding, kp, kp)
    assert encoding.features.shape == (2, 256, 64, 64)
    assert encoding.small.shape == (2, 3, 64, 64)
    assert motion.deformation_norm.shape == (2, 64, 64, 2)
    assert motion.occlusion.shape == (2, 1, 64, 64)
    assert frame.shape == (2, 3, 256, 256)
    assert 0.0 <= float(frame.min()) and float(frame.max()) <= 1.0


def blob_image(x_px: int, y_px: int, size: int = 256, sigma_px: float = 6.0) -> torch.Tensor:
    """(1, 3, size, size) black image with a white Gaussian blob centred on pixel (x, y)."""
    yy, xx = torch.meshgrid(
        torch.arange(size.__float__()), torch.arange(size.__float__()), indexing="ij"
    )
    blob = torch.exp(-((xx - x_px) ** 2 + (yy - y_px) ** 2) / (2 * sigma_px**2))
    return blob.expand(1, 3, size, size).clone()


@pytest.mark.parametrize(("x_px", "y_px"), [(128, 128), (100, 160), (60, 200)])
def test_keypoint_detector_finds_a_bright_blob_where_the_official_grid_puts_it(x_px, y_px):
    """Hand-built heads: keypoint 0's logit is the brightness of the hourglass's skip copy of
    the (downsampled) image, its Jacobian head a constant. Then the keypoint is the blob's
    position on the [-1, 1] grid over the 58×58 heatmap, whose pixel j sits on downsampled
    pixel j + 3 (unpadded 7×7 head), i.e. on image pixel 4·(j + 3)."""
    torch.manual_seed(0)
    detector = KeypointDetector().eval()
    image_channels = slice(32, 35)  # the decoder's last skip: the downsampled input itself
    with torch.no_grad():
        detector.kp.weight.zero_()
        detector.kp.bias.zero_()
        detector.kp.weight[0, image_channels, 3, 3] = 1.0
        detector.jacobian.weight.zero_()
        detector.jacobian.bias.copy_(torch.tensor([1.5, 0.25, -0.5, 0.75]).repeat(10))
    with torch.inference_mode():
        kp = detector(blob_image(x_px, y_px))
    j_x, j_y = x_px / 4 - 3, y_px / 4 - 3
    expected = torch.tensor([2 * j_x / 57 - 1, 2 * j_y / 57 - 1])
    torch.testing.assert_close(kp.value_norm[0, 0], expected, atol=1e-4, rtol=0)
    torch.testing.assert_close(kp.jacobian[0, 0], torch.tensor([[1.5, 0.25], [-0.5, 0.75]]))


def passthrough_generator() -> OcclusionAwareGenerator:
    """A tiny generator that only carries RGB through: every encoder/decoder conv copies
    channels 0-2 (centre tap 1), the residual branches are zero, the occlusion map is 1 and
    the mask weighs the K keypoint motions equally (background 0)."""
    torch.manual_seed(0)
    generator = OcclusionAwareGenerator(TINY_GEN).eval()
    convs = [generator.first.conv, generator.final]
    convs += [b.conv for b in (*generator.down_blocks, *generator.up_blocks)]
    with torch.no_grad():
        for conv in convs:
            conv.weight.zero_()
            conv.bias.zero_()
            centre = conv.kernel_size[0] // 2
            for c in range(3):
                conv.weight[c, c, centre, centre] = 1.0
        for block in generator.bottleneck:
            block.conv2.weight.zero_()
            block.conv2.bias.zero_()
        dense = generator.dense_motion_network
        for head in (dense.mask, dense.occlusion):
            head.weight.zero_()
        dense.mask.bias.fill_(SATURATE)
        dense.mask.bias[0] = -SATURATE
        dense.occlusion.bias.fill_(SATURATE)
    return generator


def test_identity_motion_reproduces_the_source_through_the_warp_path():
    generator = passthrough_generator()
    source = torch.rand(1, 3, 128, 128)
    kp = Keypoints(torch.rand(1, 4, 2) - 0.5, identity_jacobians(1, 4))
    with torch.inference_mode():
        frame = generator(source, kp, kp)
    # Two 2× average pools, then two nearest 2× upsamplings: 4×4 block means; BN (eval,
    # unit statistics) scales by 1/sqrt(1 + 1e-5) per block.
    blocks = F.interpolate(F.avg_pool2d(source, 4), scale_factor=4.0, mode="nearest")
    torch.testing.assert_close(torch.logit(frame), blocks, atol=2e-4, rtol=0)


def test_keypoints_moved_right_move_the_picture_right():
    generator = passthrough_generator()
    source = torch.rand(1, 3, 128, 128)
    kp_source = Keypoints(torch.rand(1, 4, 2) - 0.5, identity_jacobians(1, 4))
    step = 2 / (32 - 1)  # one feature pixel (128 px / 4) in xy_norm
    kp_driving = Keypoints(kp_source.value_norm + torch.tensor([step, 0.0]), kp_source.jacobian)
    with torch.inference_mode():
        motion = generator.dense_motion_network(source, kp_driving, kp_source)
        frame = generator(source, kp_driving, kp_source)
    grid = coordinate_grid(32, 32) - torch.tensor([step, 0.0])
    torch.testing.assert_close(motion.deformation_norm[0], grid, atol=1e-5, rtol=0)
    blocks = F.interpolate(F.avg_pool2d(source, 4), scale_factor=4.0, mode="nearest")
    logits = torch.logit(frame)
    torch.testing.assert_close(logits[..., 4:], blocks[..., :-4], atol=2e-4, rtol=0)
    torch.testing.assert_close(logits[..., :4], torch.zeros(1, 3, 128, 4), atol=2e-4, rtol=0)


def _randomise_batchnorm(model: torch.nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def test_fused_batchnorm_computes_the_same_function():
    torch.manual_seed(0)
    detector = KeypointDetector(TINY_KP).eval()
    generator = OcclusionAwareGenerator(TINY_GEN).eval()
    _randomise_batchnorm(detector, 1)
    _randomise_batchnorm(generator, 2)
    source, driving = torch.rand(1, 3, 128, 128), torch.rand(2, 3, 128, 128)
    with torch.inference_mode():
        kp_s, kp_d = detector(source), detector(driving)
        before = generator(source.expand(2, -1, -1, -1), kp_d, kp_s.expand(2))
        fuse_batchnorm(detector)
        fuse_batchnorm(generator)
        kp_d2 = detector(driving)
        after = generator(source.expand(2, -1, -1, -1), kp_d2, detector(source).expand(2))
    remaining = [
        m
        for m in (*detector.modules(), *generator.modules())
        if isinstance(m, ConvNormRelu) and isinstance(m.norm, torch.nn.BatchNorm2d)
    ]
    assert remaining == []
    assert all(
        isinstance(b.norm2, torch.nn.Identity)
        for b in generator.bottleneck
        if isinstance(b, ResBlock2d)
    )
    torch.testing.assert_close(kp_d2.value_norm, kp_d.value_norm, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-4)


# Sizes from FOLD_MIN_SIDE_PX on take the folded path, smaller ones the plain one.
@pytest.mark.parametrize(
    ("height", "width"), [(FOLD_MIN_SIDE_PX, FOLD_MIN_SIDE_PX), (9, 14), (32, 16), (4, 4)]
)
def test_upsampling_folded_into_the_conv_computes_the_same_function(height, width):
    torch.manual_seed(0)
    block = UpBlock2d(6, 5).eval()
    _randomise_batchnorm(block, 3)
    x = torch.randn(2, 6, height, width)
    with torch.inference_mode():
        plain = block(x)
        fuse_batchnorm(block)
        fold_upsampling(block)
        folded = block(x)
    assert block.folded is not None
    assert folded.shape == plain.shape == (2, 5, 2 * height, 2 * width)
    torch.testing.assert_close(folded, plain, atol=1e-5, rtol=1e-5)


def test_optimised_networks_compute_the_same_function():
    torch.manual_seed(0)
    detector = KeypointDetector(TINY_KP).eval()
    generator = OcclusionAwareGenerator(TINY_GEN).eval()
    _randomise_batchnorm(detector, 1)
    _randomise_batchnorm(generator, 2)
    source, driving = torch.rand(1, 3, 128, 128), torch.rand(2, 3, 128, 128)
    with torch.inference_mode():
        kp_s, kp_d = detector(source), detector(driving)
        before = generator(source.expand(2, -1, -1, -1), kp_d, kp_s.expand(2))
        for model in (detector, generator):
            fold_upsampling(fuse_batchnorm(model))
        kp_d2 = detector(driving)
        after = generator(source.expand(2, -1, -1, -1), kp_d2, detector(source).expand(2))
    assert all(b.folded is not None for b in generator.modules() if isinstance(b, UpBlock2d))
    torch.testing.assert_close(kp_d2.value_norm, kp_d.value_norm, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-4)
