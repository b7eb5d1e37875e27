"""Building blocks shared by the three FOMM networks: conv blocks, the hourglass, anti-aliasing.

Paper: A. Siarohin, S. Lathuilière, S. Tulyakov, E. Ricci, N. Sebe, "First Order Motion
Model for Image Animation", NeurIPS 2019 (arXiv:1905.13117); Appendix: architecture details.
Upstream project: github.com/AliaksandrSiarohin/first-order-model (written here from the
paper and the checkpoint's key list, not from its code).
Weights: vox-cpk.pth.tar, published by the authors alongside the upstream project (MIT since
2023, CC BY-NC 4.0 before; no separate terms for the checkpoint), trained on VoxCeleb.

Attribute names (`conv`, `norm`, `conv1`, `norm2`, `down_blocks`, `up_blocks`, `encoder`,
`decoder`, `weight`) are the checkpoint's keys. Every norm is a BatchNorm2d (eps 1e-5, affine),
used in eval mode with the checkpoint's running statistics.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Conv kernel and padding of every hourglass/encoder/decoder block (3×3, "same").
BLOCK_KERNEL = 3
BLOCK_PADDING = 1


def _fold_batchnorm(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> nn.Conv2d:
    """A conv computing norm(conv(x)) with eval-mode statistics folded into its weights."""
    assert norm.running_var is not None and norm.running_mean is not None
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    fused = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,  # type: ignore[arg-type]
        stride=conv.stride,  # type: ignore[arg-type]
        padding=conv.padding,  # type: ignore[arg-type]
        bias=True,
    ).to(device=conv.weight.device, dtype=conv.weight.dtype)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(norm.running_mean)
    assert fused.bias is not None
    with torch.no_grad():
        fused.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
        fused.bias.copy_((bias - norm.running_mean) * scale + norm.bias)
    return fused


class ConvNormRelu(nn.Module):
    """conv → batch norm → ReLU, the blocks' common part: (N, C_in, H, W) → (N, C_out, H, W)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, padding: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, padding=padding)
        self.norm: nn.Module = nn.BatchNorm2d(out_channels, affine=True)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.norm(self.conv(x)))

    def fuse_batchnorm(self) -> None:
        """Fold the (eval-mode) norm into the conv; the state dict then differs from the
        checkpoint's."""
        if isinstance(self.norm, nn.BatchNorm2d):
            self.conv = _fold_batchnorm(self.conv, self.norm)
            self.norm = nn.Identity()


class SameBlock2d(ConvNormRelu):
    """Resolution-keeping block (the generator's `first`): (N, C_in, H, W) → (N, C_out, H, W)."""


class DownBlock2d(ConvNormRelu):
    """3×3 conv → BN → ReLU → 2×2 average pool: (N, C_in, H, W) → (N, C_out, H/2, W/2)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, BLOCK_KERNEL, BLOCK_PADDING)

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(super().forward(x), kernel_size=2)


# Nearest ×2 upsampling then a 3×3 conv reads, for an output row 2i + a, small-image rows
# (i − 1, i) with the kernel's row taps (w0, w1 + w2) when a = 0 and rows (i, i + 1) with
# (w0 + w1, w2) when a = 1; columns likewise. _PHASE_TAPS[a] maps 3 taps to those 2.
_PHASE_TAPS = ((1.0, 0.0, 0.0), (0.0, 1.0, 1.0)), ((1.0, 1.0, 0.0), (0.0, 0.0, 1.0))
# Inputs smaller than this (px) keep the plain path: there the folded conv's extra padded
# row and column cost more than the 9 → 4 taps save (bench/fomm.py, 2-core x86).
FOLD_MIN_SIDE_PX = 8


def fold_nearest_upsample(conv: nn.Conv2d) -> nn.Conv2d:
    """The 2×2 conv (C_in → 4·C_out, padding 1) whose output phases, interleaved, equal
    conv(nearest ×2 upsampling(x)) for a 3×3, padding-1 `conv`: 4/9 of the multiply-adds.

    Output channel (2a + b)·C_out + o is output channel o at rows 2i + a, columns 2j + b,
    read at [a + i, b + j] of the (H + 1, W + 1) result.
    """
    if conv.kernel_size != (3, 3) or conv.padding != (1, 1) or conv.stride != (1, 1):
        raise ValueError("only a 3×3, padding-1, stride-1 conv folds into the upsampling")
    taps = torch.tensor(_PHASE_TAPS, dtype=conv.weight.dtype, device=conv.weight.device)
    kernels = torch.einsum("aur,oirs,bvs->aboiuv", taps, conv.weight, taps)
    out_channels = 4 * conv.out_channels
    folded = nn.Conv2d(conv.in_channels, out_channels, 2, padding=1).to(conv.weight)
    bias = conv.bias if conv.bias is not None else torch.zeros(conv.out_channels)
    assert folded.bias is not None
    with torch.no_grad():
        folded.weight.copy_(kernels.reshape(out_channels, conv.in_channels, 2, 2))
        folded.bias.copy_(bias.to(folded.bias).repeat(4))
    return folded


def interleave_phases(phases: Tensor, height: int, width: int) -> Tensor:
    """(N, 4·C, H + 1, W + 1) from a folded conv → (N, C, 2H, 2W)."""
    n = phases.shape[0]
    grouped = phases.reshape(n, 2, 2, -1, height + 1, width + 1)
    out = phases.new_empty(n, grouped.shape[3], height, 2, width, 2)
    for a in (0, 1):
        for b in (0, 1):
            out[:, :, :, a, :, b] = grouped[:, a, b, :, a : a + height, b : b + width]
    return out.view(n, -1, 2 * height, 2 * width)


class UpBlock2d(ConvNormRelu):
    """Nearest ×2 upsampling → 3×3 conv → BN → ReLU: (N, C_in, H, W) → (N, C_out, 2H, 2W)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, BLOCK_KERNEL, BLOCK_PADDING)
        self.folded: nn.Conv2d | None = None

    def forward(self, x: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        if self.folded is not None and min(height, width) >= FOLD_MIN_SIDE_PX:
            return F.relu(self.norm(interleave_phases(self.folded(x), height, width)))
        return super().forward(F.interpolate(x, scale_factor=2.0, mode="nearest"))

    def fold_upsample(self) -> None:
        """Add the folded conv (fold_nearest_upsample) used for inputs of FOLD_MIN_SIDE_PX
        and more; call after fuse_batchnorm. Adds `folded.*` keys to the state dict."""
        self.folded = fold_nearest_upsample(self.conv)

    def fuse_batchnorm(self) -> None:
        super().fuse_batchnorm()
        if self.folded is not None:
            self.fold_upsample()  # refold: the conv now carries the norm


class ResBlock2d(nn.Module):
    """Pre-activation residual block: x + conv2(relu(norm2(conv1(relu(norm1(x)))))).

    (N, C, H, W) → (N, C, H, W); the generator's bottleneck `r0` … `r5`.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, BLOCK_KERNEL, padding=BLOCK_PADDING)
        self.conv2 = nn.Conv2d(channels, channels, BLOCK_KERNEL, padding=BLOCK_PADDING)
        self.norm1 = nn.BatchNorm2d(channels, affine=True)
        self.norm2: nn.Module = nn.BatchNorm2d(channels, affine=True)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv1(F.relu(self.norm1(x)))
        out = self.conv2(F.relu(self.norm2(out)))
        return x + out

    def fuse_batchnorm(self) -> None:
        """Fold norm2 into conv1 (norm1 acts on the residual input and stays)."""
        if isinstance(self.norm2, nn.BatchNorm2d):
            self.conv1 = _fold_batchnorm(self.conv1, self.norm2)
            self.norm2 = nn.Identity()


def hourglass_width(block_expansion: int, max_features: int, level: int) -> int:
    """Channels at hourglass `level`: doubling from block_expansion, capped at max_features."""
    return min(max_features, block_expansion * 2**level)


class Encoder(nn.Module):
    """The hourglass's contracting half: `num_blocks` DownBlock2d.

    forward: (N, C_in, H, W) → list of num_blocks+1 maps, the input first, then each
    block's output (N, width(i+1), H/2^(i+1), W/2^(i+1)).
    """

    def __init__(
        self, block_expansion: int, in_channels: int, num_blocks: int, max_features: int
    ) -> None:
        super().__init__()
        self.down_blocks = nn.ModuleList(
            DownBlock2d(
                in_channels if i == 0 else hourglass_width(block_expansion, max_features, i),
                hourglass_width(block_expansion, max_features, i + 1),
            )
            for i in range(num_blocks)
        )

    def forward(self, x: Tensor) -> list[Tensor]:
        outs = [x]
        for block in self.down_blocks:
            outs.append(block(outs[-1]))
        return outs


class Decoder(nn.Module):
    """The hourglass's expanding half: UpBlock2d from the deepest level up, each output
    concatenated with the encoder map of the same size (skip connection).

    forward: the Encoder's list → (N, out_channels, H, W) with
    out_channels = block_expansion + C_in (the last skip is the input itself).
    """

    def __init__(
        self, block_expansion: int, in_channels: int, num_blocks: int, max_features: int
    ) -> None:
        super().__init__()
        blocks = []
        for level in reversed(range(num_blocks)):
            # The deepest block sees the encoder output alone; the others also its skip.
            factor = 1 if level == num_blocks - 1 else 2
            blocks.append(
                UpBlock2d(
                    factor * hourglass_width(block_expansion, max_features, level + 1),
                    hourglass_width(block_expansion, max_features, level),
                )
            )
        self.up_blocks = nn.ModuleList(blocks)
        self.out_channels = block_expansion + in_channels

    def forward(self, encoded: list[Tensor]) -> Tensor:
        skips = list(encoded)
        out = skips.pop()
        for block in self.up_blocks:
            out = torch.cat([block(out), skips.pop()], dim=1)
        return out


class Hourglass(nn.Module):
    """U-Net-style hourglass: (N, C_in, H, W) → (N, block_expansion + C_in, H, W).

    H and W must be multiples of 2^num_blocks.
    """

    def __init__(
        self, block_expansion: int, in_channels: int, num_blocks: int, max_features: int
    ) -> None:
        super().__init__()
        self.encoder = Encoder(block_expansion, in_channels, num_blocks, max_features)
        self.decoder = Decoder(block_expansion, in_channels, num_blocks, max_features)
        self.out_channels = self.decoder.out_channels

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))


def gaussian_kernel_2d(sigma: float, size: int) -> Tensor:
    """A normalised (size, size) Gaussian, centred at (size-1)/2, sigma in px."""
    centre = (size - 1) / 2
    offsets = torch.arange(size, dtype=torch.float32) - centre
    g = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = g[:, None] * g[None, :]
    return kernel / kernel.sum()


class AntiAliasDownsample(nn.Module):
    """Gaussian blur, then keep every int(1/scale)-th pixel: (N, C, H, W) → (N, C, ⌈H·s⌉, ⌈W·s⌉).

    sigma = (1/scale − 1)/2 px and a kernel of 2·round(4·sigma)+1 px (13 for scale 0.25),
    zero-padded by half the kernel. The kernel is the buffer `weight` (C, 1, k, k), stored in
    the checkpoint, so a loaded model uses the checkpoint's values. Blurring at stride 1 and
    subsampling equals this strided convolution, which skips the discarded outputs.
    """

    weight: Tensor

    def __init__(self, channels: int, scale: float) -> None:
        super().__init__()
        if not 0.0 < scale < 1.0:
            raise ValueError(f"scale must be in (0, 1), got {scale!r}")
        sigma = (1.0 / scale - 1.0) / 2.0
        size = 2 * round(sigma * 4) + 1
        kernel = gaussian_kernel_2d(sigma, size)
        self.register_buffer("weight", kernel.repeat(channels, 1, 1, 1))
        self.stride = int(1.0 / scale)
        self.padding = size // 2
        self.channels = channels
        self.scale = scale

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(
            x, self.weight, stride=self.stride, padding=self.padding, groups=self.channels
        )


def downsampled_size(size_px: int, scale: float) -> int:
    """Side after AntiAliasDownsample: ⌈size·scale⌉ for the integer stride 1/scale."""
    return math.ceil(size_px / int(1.0 / scale))


def fuse_batchnorm(module: nn.Module) -> nn.Module:
    """Fold every eval-mode norm that directly follows a conv into that conv, in place.

    For inference only, after the checkpoint is loaded: the result computes the same
    function (to float rounding) with fewer passes over memory. Returns `module`.
    """
    if module.training:
        raise ValueError("fuse_batchnorm needs a module in eval mode")
    for sub in module.modules():
        if isinstance(sub, ConvNormRelu | ResBlock2d):
            sub.fuse_batchnorm()
    return module


def fold_upsampling(module: nn.Module) -> nn.Module:
    """fold_upsample() every UpBlock2d in `module`, in place (after fuse_batchnorm, so the
    folded convs include the norms). Same function to float rounding. Returns `module`."""
    for sub in list(module.modules()):
        if isinstance(sub, UpBlock2d):
            sub.fold_upsample()
    return module
