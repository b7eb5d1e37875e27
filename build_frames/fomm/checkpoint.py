"""Loading the official FOMM face checkpoint (vox-cpk.pth.tar) into our networks, unchanged.

The file is an old-format (non-zip, torch 1.0) pickle holding a dict whose "kp_detector" and
"generator" entries are state dicts (plus optimiser and discriminator states we ignore).
It is read with `weights_only=True`: plain tensors and containers, no code. Every key and
shape is checked before `load_state_dict(strict=True)`, so a wrong file fails with a message
naming the offending key rather than a wall of torch text.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from build_frames.errors import BuildError, CheckpointError
from build_frames.fomm.config import (
    VOX256_GENERATOR,
    VOX256_KP_DETECTOR,
    GeneratorConfig,
    KeypointDetectorConfig,
)
from build_frames.fomm.generator import OcclusionAwareGenerator
from build_frames.fomm.keypoint_detector import KeypointDetector

CHECKPOINT_NAME = "vox-cpk.pth.tar"
CHECKPOINT_HINT = (
    f"`build-frames fomm` needs the official FOMM face checkpoint {CHECKPOINT_NAME} (~700 MB; "
    "Siarohin et al., First Order Motion Model): its authors link it under 'Pre-trained "
    "checkpoint' in the README of github.com/AliaksandrSiarohin/first-order-model; download "
    "it yourself and pass its path"
)
ENTRIES = ("kp_detector", "generator")
DEVICE_CHOICES = ("auto", "cpu", "cuda")
# What torch.load raises on a file that is not a (weights-only) torch checkpoint: garbage or
# text (KeyError on the magic number, UnpicklingError), a truncated pickle (EOFError), a
# damaged zip (RuntimeError), a pickle that needs code to load (UnpicklingError).
_LOAD_ERRORS = (
    pickle.UnpicklingError,
    EOFError,
    RuntimeError,
    KeyError,
    ValueError,
    TypeError,
    AttributeError,
    IndexError,
    UnicodeDecodeError,
)
# torch's own messages run to paragraphs; longer ones are shown as their type only.
_MAX_REASON_CHARS = 80
# How many offending keys a message names before it says "and N more".
_MAX_KEYS_NAMED = 3


def resolve_device(name: str | torch.device) -> torch.device:
    """The torch device for "auto" (CUDA when available, else CPU), "cpu" or "cuda[:i]".

    BuildError for an unknown name, or CUDA asked for where torch sees no GPU.
    """
    if isinstance(name, torch.device):
        device = name
    elif name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            device = torch.device(name)
        except RuntimeError:
            raise BuildError(f"unknown device {name!r}; choose one of {DEVICE_CHOICES!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BuildError(
            f"device {str(device)!r} asked for, but torch sees no CUDA GPU "
            "(use --device cpu, or install a CUDA build of torch)"
        )
    if device.type not in ("cpu", "cuda"):
        raise BuildError(f"unsupported device {str(device)!r}; choose one of {DEVICE_CHOICES!r}")
    return device


def _summary(exc: BaseException) -> str:
    text = str(exc).strip()
    if not text or "\n" in text or len(text) > _MAX_REASON_CHARS:
        return type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def _shape(shape: torch.Size | tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(s) for s in shape)


def _named(keys: list[str]) -> str:
    shown = ", ".join(repr(k) for k in keys[:_MAX_KEYS_NAMED])
    more = len(keys) - _MAX_KEYS_NAMED
    return f"{shown} and {more} more" if more > 0 else shown


def check_state_dict(model: nn.Module, state: Mapping[str, Any], entry: str, path: Path) -> None:
    """CheckpointError naming the first mismatch between `state` and `model`'s keys/shapes."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    if missing:
        raise CheckpointError(
            f"{path}: checkpoint[{entry!r}] lacks {_named(missing)} "
            f"({len(missing)} of {len(expected)} keys missing); {CHECKPOINT_HINT}"
        )
    unexpected = [k for k in state if k not in expected]
    if unexpected:
        raise CheckpointError(
            f"{path}: checkpoint[{entry!r}] has unexpected keys {_named(unexpected)}; "
            f"{CHECKPOINT_HINT}"
        )
    for key, want in expected.items():
        got = state[key]
        if not isinstance(got, torch.Tensor):
            raise CheckpointError(
                f"{path}: checkpoint[{entry!r}][{key!r}] is a {type(got).__name__}, not a tensor"
            )
        if _shape(got.shape) != _shape(want.shape):
            raise CheckpointError(
                f"{path}: checkpoint[{entry!r}][{key!r}] has shape {_shape(got.shape)}, "
                f"the vox-256 model needs {_shape(want.shape)}; {CHECKPOINT_HINT}"
            )
        if got.is_floating_point() != want.is_floating_point():
            raise CheckpointError(
                f"{path}: checkpoint[{entry!r}][{key!r}] has dtype {got.dtype}, "
                f"expected {want.dtype}"
            )


def read_checkpoint(path: Path, device: torch.device) -> dict[str, Mapping[str, Any]]:
    """The checkpoint's "kp_detector" and "generator" state dicts, on `device`."""
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file; {CHECKPOINT_HINT}")
    try:
        with warnings.catch_warnings():
            # torch warns (UserWarning) about a pickle protocol it did not write before it
            # refuses the file; the refusal below is the one line a person needs.
            warnings.simplefilter("ignore", UserWarning)
            checkpoint = torch.load(path, map_location=device, weights_only=True)
    except _LOAD_ERRORS as exc:
        raise CheckpointError(
            f"{path}: not a torch checkpoint of plain tensors ({_summary(exc)}); {CHECKPOINT_HINT}"
        ) from exc
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(
            f"{path}: holds a {type(checkpoint).__name__}, not a FOMM checkpoint dict; "
            f"{CHECKPOINT_HINT}"
        )
    absent = [e for e in ENTRIES if not isinstance(checkpoint.get(e), Mapping)]
    if absent:
        found = sorted(str(k) for k in checkpoint)[:8]
        raise CheckpointError(
            f"{path}: not a FOMM checkpoint (no {' / '.join(repr(e) for e in absent)} state dict; "
            f"top-level keys {found!r}); {CHECKPOINT_HINT}"
        )
    return {e: checkpoint[e] for e in ENTRIES}


def load_fomm(
    path: str | Path,
    device: str | torch.device = "auto",
    kp_config: KeypointDetectorConfig = VOX256_KP_DETECTOR,
    generator_config: GeneratorConfig = VOX256_GENERATOR,
) -> tuple[KeypointDetector, OcclusionAwareGenerator]:
    """The keypoint detector and generator of a FOMM checkpoint, in eval mode on `device`.

    The configs default to the official vox-256 architecture (smaller ones are for tests).
    Raises CheckpointError (missing/unreadable file, not a FOMM checkpoint, a missing,
    unexpected or wrongly shaped key) or BuildError (unknown or unavailable device).
    """
    path = Path(path)
    target = resolve_device(device)
    states = read_checkpoint(path, target)
    kp_detector = KeypointDetector(kp_config)
    generator = OcclusionAwareGenerator(generator_config)
    for entry, model in (("kp_detector", kp_detector), ("generator", generator)):
        check_state_dict(model, states[entry], entry, path)
        model.load_state_dict(states[entry], strict=True)
        model.to(target).eval().requires_grad_(False)
    return kp_detector, generator
