"""Errors raised by the device side.

Every error a person can cause (bad config, missing or corrupt pack, missing model,
unknown camera, no display) is a subclass of MonaFrameError; the CLI prints its
message on one line and exits non-zero, never with a traceback.

    MonaFrameError
    ├── ConfigError      bad /etc/mona-frame/config.toml (exit 78)
    ├── PackError        missing, corrupt or unsupported frame pack (exit 78)
    ├── ModelError       detector model missing, wrong checksum or unloadable
    ├── CameraError      camera cannot be opened or stopped delivering frames
    └── DisplayError     no usable screen / SDL video driver
"""

from __future__ import annotations


class MonaFrameError(Exception):
    """Base class of every error the device side reports to a person."""


class ConfigError(MonaFrameError):
    """The configuration file is unreadable or holds bad keys or values."""


class PackError(MonaFrameError):
    """A frame pack is missing, corrupt or of an unsupported format."""


class ModelError(MonaFrameError):
    """The face-detector model is missing, corrupt or cannot be loaded."""


class CameraError(MonaFrameError):
    """The camera cannot be opened, or stopped delivering frames."""


class DisplayError(MonaFrameError):
    """The display cannot be opened."""
