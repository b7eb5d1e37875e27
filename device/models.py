"""Where the .tflite models live, and checking them against their pinned sha256.

The models are not in git: `python models/fetch_models.py` puts them in models/
(provenance and licence in models/README.md). The pins come from
models/manifest.json in this checkout, never from the model directory itself, so a
directory chosen with MONA_FRAME_MODEL_DIR cannot vouch for its own files.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from device.errors import ModelError

MODEL_DIR = Path(__file__).resolve().parents[1] / "models"
MANIFEST_PATH = MODEL_DIR / "manifest.json"
MODEL_DIR_ENV = "MONA_FRAME_MODEL_DIR"
FETCH_HINT = "run `python models/fetch_models.py`"
# Read size when hashing (1 MiB): the largest model is 2.6 MB.
_HASH_CHUNK_BYTES = 1 << 20


def load_manifest(path: Path | None = None) -> dict[str, Any]:
    """The parsed models/manifest.json (or `path`); ModelError if unreadable."""
    path = MANIFEST_PATH if path is None else path
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read the model manifest ({exc})") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("models"), dict):
        raise ModelError(f"{path}: model manifest has no 'models' table")
    return manifest


def model_names(manifest: dict[str, Any] | None = None) -> list[str]:
    """The short model names the manifest pins, e.g. "short_range"."""
    manifest = load_manifest() if manifest is None else manifest
    return sorted(manifest["models"])


def resolve_model_dir(model_dir: Path | None = None) -> Path:
    """model_dir if given, else $MONA_FRAME_MODEL_DIR if set, else the repo's models/."""
    if model_dir is not None:
        return Path(model_dir)
    from_env = os.environ.get(MODEL_DIR_ENV)
    return Path(from_env) if from_env else MODEL_DIR


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def model_path(
    name: str,
    model_dir: Path | None = None,
    verify: bool = True,
    manifest: dict[str, Any] | None = None,
) -> Path:
    """Path of the model `name` ("short_range", "full_range", "face_landmark", "iris_landmark").

    Raises ModelError if the name is unknown, the file is missing, or (verify=True) its
    sha256 differs from the pinned one.
    """
    manifest = load_manifest() if manifest is None else manifest
    entry = manifest["models"].get(name)
    if entry is None:
        raise ModelError(f"unknown model {name!r}; choose one of {model_names(manifest)!r}")
    path = resolve_model_dir(model_dir) / str(entry["file"])
    if not path.is_file():
        raise ModelError(f"{path}: missing; {FETCH_HINT}")
    if verify:
        actual = file_sha256(path)
        if actual != entry["sha256"]:
            raise ModelError(
                f"{path}: sha256 {actual} does not match the pinned {entry['sha256']}; "
                f"delete it and {FETCH_HINT}"
            )
    return path
