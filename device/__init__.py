"""mona-frame device side: camera → face detector → gaze → portrait frame on screen."""

from __future__ import annotations

__version__ = "0.1.0"
