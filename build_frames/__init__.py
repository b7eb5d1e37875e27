"""mona-frame workstation side: turn a portrait into a frame pack."""

from __future__ import annotations
