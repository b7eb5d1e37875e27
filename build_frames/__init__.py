"""mona-frame workstation side: turn a portrait into a frame pack."""

from __future__ import annotations

# The project version (pyproject.toml); recorded in every pack's provenance.
__version__ = "0.1.0"
