"""`build-frames fomm`: animate the portrait with FOMM (being built)."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the `fomm` subcommand's arguments to `parser`."""
    parser.add_argument("--portrait", required=True, help="the painting or photo")
    parser.add_argument("--driving", required=True, help="video of someone looking left and right")
    parser.add_argument("--checkpoint", required=True, help="the official vox-cpk.pth.tar")
    parser.add_argument("--out", required=True, help="frame pack directory to write")


def run(args: argparse.Namespace) -> int:
    """Run `build-frames fomm`; returns the exit status."""
    raise NotImplementedError("build-frames fomm is being built")
