"""Heads generated elsewhere (FOMM, a notebook) put back into the painting.

Each head is an image of the crop box it was generated from, at any resolution: it is
resized back to the box, colour-matched to the painting (one transform for the whole
sequence) and blended in with the sigmoid alpha, faded to nothing at the box's edge.
Shared by `build-frames blend` and the FOMM method.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np
import numpy.typing as npt

from build_frames import blend
from build_frames.errors import OptionError
from device.pack import PatchRect

U8 = npt.NDArray[np.uint8]
Edit = tuple[PatchRect, U8]
# Smallest crop box worth blending (px a side): FOMM's own output is 256 px.
MIN_CROP_SIDE_PX = 16


def check_crop(crop: PatchRect, image_size: tuple[int, int]) -> None:
    """OptionError unless the crop box lies inside the image (w, h) and is big enough."""
    width, height = image_size
    if crop.width < MIN_CROP_SIDE_PX or crop.height < MIN_CROP_SIDE_PX:
        raise OptionError(
            f"--crop {crop.x} {crop.y} {crop.width} {crop.height}: the box must be at least "
            f"{MIN_CROP_SIDE_PX}x{MIN_CROP_SIDE_PX} px"
        )
    if crop.x < 0 or crop.y < 0 or crop.x + crop.width > width or crop.y + crop.height > height:
        raise OptionError(
            f"--crop {crop.x} {crop.y} {crop.width} {crop.height}: the box must lie inside the "
            f"{width}x{height} portrait"
        )


def resize_to(head: U8, size: tuple[int, int]) -> U8:
    """`head` resized to (w, h): area-averaged when shrinking, Lanczos when enlarging."""
    if (head.shape[1], head.shape[0]) == size:
        return head
    shrinking = head.shape[1] > size[0] and head.shape[0] > size[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LANCZOS4
    return np.asarray(cv2.resize(head, size, interpolation=interpolation), np.uint8)


def crop_alpha(spec: blend.AlphaSpec, crop: PatchRect) -> npt.NDArray[np.float32]:
    """(h, w) alpha over the crop box, tapered to 0 at its edge."""
    return blend.alpha_map(spec, crop) * blend.crop_edge_taper(crop, crop)


def blend_heads(
    base: U8,
    heads: Sequence[U8],
    crop: PatchRect,
    spec: blend.AlphaSpec,
    colour_match: bool = True,
    on_head: Callable[[], object] | None = None,
) -> list[list[Edit]]:
    """One frame's edits per head: each (crop-box-sized after resize_to) blended into
    `base` (H, W, 3) uint8 over the crop box. on_head is called as each head is done."""
    alpha = crop_alpha(spec, crop)
    painting = base[crop.slices]
    sized = [resize_to(h, (crop.width, crop.height)) for h in heads]
    if colour_match:
        sized = blend.match_colours(sized, painting, alpha)
    frames = []
    for head in sized:
        frames.append([(crop, blend.blend(painting, head, alpha))])
        if on_head is not None:
            on_head()
    return frames
