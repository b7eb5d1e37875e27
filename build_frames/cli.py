"""`build-frames`: turn a portrait into a frame pack for the mona-frame.

    build-frames eyes PORTRAIT --out PACK      gaze frames at full resolution (no weights)
    build-frames blend PORTRAIT HEADS --crop X Y W H --out PACK
                                               heads generated elsewhere, blended back
    build-frames fomm ...                      animate the head with FOMM (needs torch)
    build-frames preview PACK                  contact sheet and sweep animation
    build-frames analyse PORTRAIT              the face, eyes and irises found, drawn

Every error a person can cause ends in one line on stderr and exit status 1 (2 for a
command line argparse refuses); progress bars go to stderr, the summary to stdout.
The fomm subcommand's module is imported only when it is asked for, so the other
subcommands never import torch.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
from collections.abc import Sequence
from typing import Any

from build_frames import __version__, blend
from build_frames.errors import BuildError, OptionError
from device.errors import MonaFrameError

EX_FAILURE = 1
EX_USAGE = 2
EX_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
FOMM_MODULE = "build_frames.fomm.cli"

DEFAULT_FRAMES = 33
DEFAULT_YAW_RANGE = (-30.0, 30.0)


def add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, metavar="PACK", help="frame pack directory to write")
    p.add_argument("--force", action="store_true", help="replace PACK if it exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")


def add_gaze_options(p: argparse.ArgumentParser, frames: bool) -> None:
    if frames:
        p.add_argument(
            "--frames",
            type=int,
            default=DEFAULT_FRAMES,
            metavar="N",
            help=f"yaw frames per pitch row (default {DEFAULT_FRAMES})",
        )
    p.add_argument(
        "--yaw-range",
        type=float,
        nargs=2,
        default=DEFAULT_YAW_RANGE,
        metavar=("MIN", "MAX"),
        help="yaw of the first and last frame, degrees; negative looks toward a "
        "viewer on the frame's left (default -30 30)",
    )
    p.add_argument(
        "--pitch-range",
        type=float,
        nargs=2,
        default=(0.0, 0.0),
        metavar=("MIN", "MAX"),
        help="pitch of the first and last row, degrees; positive looks up (default 0 0)",
    )
    p.add_argument(
        "--pitch-rows",
        type=int,
        default=1,
        metavar="N",
        help="pitch rows (default 1: one row at the middle of --pitch-range)",
    )


def add_alpha_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--alpha-shape",
        choices=blend.ALPHA_SHAPES,
        default="ellipse",
        help="distance to the head centre: ellipse, or square (Chebyshev, the "
        "original Mona Lisa project's) (default ellipse)",
    )
    p.add_argument(
        "--alpha-j",
        type=float,
        metavar="J",
        help="sigmoid slope per head-box half-size (default 24 for ellipse, 15.36 for square)",
    )
    p.add_argument(
        "--alpha-k",
        type=float,
        metavar="K",
        help="sigmoid inflection, in head-box half-sizes (default 0.72 for ellipse, "
        "0.703 for square)",
    )
    p.add_argument(
        "--alpha-centre",
        type=float,
        nargs=2,
        metavar=("X", "Y"),
        help="head centre m in portrait px (default: the head box's centre)",
    )


def check_alpha_centre(args: argparse.Namespace, image_size: tuple[int, int]) -> None:
    """OptionError unless --alpha-centre (if given) is finite and inside the (w, h) portrait."""
    if args.alpha_centre is None:
        return
    x, y = args.alpha_centre
    width, height = image_size
    if not (math.isfinite(x) and math.isfinite(y) and 0 <= x <= width and 0 <= y <= height):
        raise OptionError(
            f"--alpha-centre {x!r} {y!r}: the head centre must lie inside the "
            f"{width}x{height} portrait (0 <= X <= {width}, 0 <= Y <= {height}, px)"
        )


def alpha_from_args(
    args: argparse.Namespace,
    head_box_px: tuple[float, float, float, float],
    image_size: tuple[int, int],
) -> blend.AlphaSpec:
    """The AlphaSpec from the --alpha-* options; image_size is the portrait's (w, h) px."""
    check_alpha_centre(args, image_size)
    centre = tuple(args.alpha_centre) if args.alpha_centre is not None else None
    return blend.alpha_spec(
        args.alpha_shape,
        args.alpha_j,
        args.alpha_k,
        centre,
        head_box_px,
    )


def alpha_parameters(spec: blend.AlphaSpec) -> dict[str, Any]:
    return {
        "shape": spec.shape,
        "j": spec.j,
        "k": spec.k,
        "centre_px": list(spec.centre_px),
        "semi_axes_px": list(spec.semi_axes_px),
    }


def note(message: str) -> None:
    print(f"build-frames: note: {message}", file=sys.stderr)


def build_parser(with_fomm: bool = False) -> argparse.ArgumentParser:
    """The parser; the fomm subcommand's own options only when with_fomm (imports it)."""
    from build_frames import cmd_blend, cmd_eyes, cmd_preview

    parser = argparse.ArgumentParser(
        prog="build-frames",
        description="Turn a portrait into a mona-frame frame pack (docs/build-frames.md).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    eyes = sub.add_parser("eyes", help="gaze frames at full resolution by moving the irises")
    eyes.add_argument(
        "portrait",
        metavar="PORTRAIT",
        help="image file, or builtin:grace_hopper / builtin:astronaut",
    )
    add_output_options(eyes)
    add_gaze_options(eyes, frames=True)
    eyes.add_argument(
        "--head-turn",
        type=float,
        default=0.0,
        metavar="DEG",
        help="also turn the head, up to DEG degrees at the end of the yaw range "
        "(0 to 8; default 0: eyes only)",
    )
    eyes.add_argument(
        "--face",
        type=int,
        metavar="N",
        help="which face, numbered 1.. left to right (default: the largest)",
    )
    add_alpha_options(eyes)
    eyes.set_defaults(func=cmd_eyes.run)

    blend_p = sub.add_parser("blend", help="blend heads generated elsewhere back into the portrait")
    blend_p.add_argument("portrait", metavar="PORTRAIT", help="the painting the heads came from")
    blend_p.add_argument(
        "heads", metavar="HEADS", help="folder of head images, in gaze order (sorted by name)"
    )
    blend_p.add_argument(
        "--crop",
        type=int,
        nargs=4,
        required=True,
        metavar=("X", "Y", "W", "H"),
        help="the box of the portrait the heads were generated from, px",
    )
    add_output_options(blend_p)
    add_gaze_options(blend_p, frames=False)
    blend_p.add_argument(
        "--no-colour-match", action="store_true", help="blend the heads' colours as they are"
    )
    add_alpha_options(blend_p)
    blend_p.set_defaults(func=cmd_blend.run)

    fomm = sub.add_parser(
        "fomm", help="animate the head with FOMM (needs mona-frame[fomm])", add_help=not with_fomm
    )
    if with_fomm:
        module = importlib.import_module(FOMM_MODULE)
        fomm.add_argument("-h", "--help", action="help", help="show this help message and exit")
        module.configure(fomm)
        fomm.set_defaults(func=module.run)

    preview = sub.add_parser("preview", help="contact sheet and sweep animation of a pack")
    preview.add_argument("pack", metavar="PACK", help="frame pack directory")
    preview.add_argument(
        "--sheet",
        metavar="PNG",
        help="contact sheet to write (default: PACK-sheet.png beside the pack)",
    )
    preview.add_argument(
        "--animation",
        metavar="GIF|MP4",
        help="sweep animation to write (default: PACK-sweep.gif beside it)",
    )
    preview.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    preview.set_defaults(func=cmd_preview.run_preview)

    analyse = sub.add_parser("analyse", help="draw the face, eyelids and irises found")
    analyse.add_argument("portrait", metavar="PORTRAIT", help="image file or builtin:NAME")
    analyse.add_argument("--out", required=True, metavar="PNG", help="annotated picture to write")
    analyse.add_argument("--face", type=int, metavar="N", help="which face (default: largest)")
    analyse.set_defaults(func=cmd_preview.run_analyse)
    return parser


def _wants_fomm(argv: Sequence[str]) -> bool:
    """Is the subcommand `fomm`? (the first argument that is not an option)"""
    for arg in argv:
        if not arg.startswith("-"):
            return arg == "fomm"
    return False


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(with_fomm=_wants_fomm(argv))
    except ImportError as exc:
        print(
            f"build-frames: error: fomm needs {exc.name}: pip install 'mona-frame[fomm]'",
            file=sys.stderr,
        )
        return EX_FAILURE
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse reported
        return exc.code if isinstance(exc.code, int) else EX_USAGE
    try:
        return int(args.func(args))
    except (BuildError, MonaFrameError) as exc:
        print(f"build-frames: error: {exc}", file=sys.stderr)
        return EX_FAILURE
    except OSError as exc:  # writing the pack or a preview: a full disk, no permission
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"build-frames: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EX_FAILURE
    except KeyboardInterrupt:
        print("build-frames: interrupted (no pack written)", file=sys.stderr)
        return EX_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
