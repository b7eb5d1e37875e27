"""`build-frames fomm`: animate the portrait's head with FOMM (needs mona-frame[fomm]).

    build-frames fomm --portrait P --driving VIDEO --checkpoint vox-cpk.pth.tar --out PACK

This module imports torch (through build.py): build_frames/cli.py imports it only when the
fomm subcommand is asked for, and turns a missing torch into one line saying which
`pip install` to run.
"""

from __future__ import annotations

import argparse

from build_frames import cli
from build_frames.fomm import build
from build_frames.fomm.checkpoint import CHECKPOINT_NAME, DEVICE_CHOICES
from build_frames.fomm.driving import MAX_FRAMES, MIN_FRAMES


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the `fomm` subcommand's arguments to `parser`."""
    parser.add_argument(
        "--portrait",
        required=True,
        metavar="PORTRAIT",
        help="the painting or photo: an image file, or builtin:grace_hopper / builtin:astronaut",
    )
    parser.add_argument(
        "--driving",
        required=True,
        metavar="VIDEO",
        help="video of a face, front-on and close, looking left and right (at least "
        f"{MIN_FRAMES} frames; more than {MAX_FRAMES} are thinned out)",
    )
    parser.add_argument(
        "--checkpoint",
        required=True,
        metavar="FILE",
        help=f"the official FOMM face checkpoint {CHECKPOINT_NAME} (downloaded by you; "
        "see docs/build-frames.md)",
    )
    cli.add_output_options(parser)
    parser.add_argument(
        "--frames",
        type=int,
        default=cli.DEFAULT_FRAMES,
        metavar="N",
        help="frames in the pack, picked by gaze from the animated driving frames "
        f"(default {cli.DEFAULT_FRAMES})",
    )
    parser.add_argument(
        "--yaw-range",
        type=float,
        nargs=2,
        default=cli.DEFAULT_YAW_RANGE,
        metavar=("MIN", "MAX"),
        help="yaw given to the leftmost- and rightmost-looking frames, degrees; the others "
        "evenly between (default -30 30)",
    )
    parser.add_argument(
        "--device",
        choices=DEVICE_CHOICES,
        default="auto",
        help="where FOMM runs: auto (CUDA if torch sees a GPU, else CPU), cpu or cuda "
        "(default auto)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="driving frames per forward pass (default 1 on CPU, 8 on CUDA)",
    )
    parser.add_argument(
        "--frames-dir",
        metavar="DIR",
        help="also keep every generated 256x256 head here (head_NNNN.png, and heads.json "
        "with each one's measured gaze)",
    )
    parser.add_argument(
        "--face",
        type=int,
        metavar="N",
        help="which face of the portrait, numbered 1.. left to right (default: the largest)",
    )
    parser.add_argument(
        "--no-colour-match", action="store_true", help="blend the heads' colours as they are"
    )
    cli.add_alpha_options(parser)


def run(args: argparse.Namespace) -> int:
    """Run `build-frames fomm`; returns the exit status."""
    return build.run(args)
