"""Errors raised by the build step.

Every error a person can cause (an unreadable or unsuitable portrait, no face, a bad
driving video, a missing checkpoint, a pack that already exists) is a subclass of
BuildError; `build-frames` prints its message on one line and exits non-zero, never
with a traceback.

    BuildError
    ├── InputImageError     not an image, unreadable, truncated, too small
    ├── FaceError           no face, several faces, face too small for the eyes to move
    ├── OptionError         a command-line value out of range or inconsistent with another
    ├── HeadFramesError     `blend`: generated head frames missing, unreadable, wrong count
    ├── DrivingVideoError   driving video unreadable, too short, face missing or leaving the crop,
    │                       or no frame's eyes measurable for ordering the frames by gaze
    └── CheckpointError     FOMM checkpoint missing, not a FOMM checkpoint, wrong keys/shapes

Pack and model problems come from the device side (device.errors.PackError and
ModelError) and are reported the same way.
"""

from __future__ import annotations


class BuildError(Exception):
    """Base class of every error the build step reports to a person."""


class InputImageError(BuildError):
    """The portrait cannot be read or is unsuitable."""


class FaceError(BuildError):
    """No usable face in the portrait (none, ambiguous, or too small)."""


class OptionError(BuildError):
    """A command-line value is out of range or contradicts another one."""


class HeadFramesError(BuildError):
    """The generated head frames given to `blend` cannot be used."""


class DrivingVideoError(BuildError):
    """The driving video cannot be used."""


class CheckpointError(BuildError):
    """The FOMM checkpoint is missing or is not what it should be."""
