"""Loading a model through device/tflite.py: one place, one kind of error."""

from __future__ import annotations

import pytest

from device import tflite
from device.errors import ModelError
from device.models import model_path


def test_loads_a_pinned_model():
    try:
        path = model_path("face_landmark")
    except ModelError:
        pytest.skip("models not fetched; run `python models/fetch_models.py`")
    interpreter = tflite.load_interpreter(path, num_threads=2)
    (detail,) = interpreter.get_input_details()
    assert tuple(detail["shape"]) == (1, 192, 192, 3)


def test_a_file_that_is_not_a_model_says_how_to_fix_it(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a flatbuffer" * 10)
    with pytest.raises(ModelError, match=r"bad\.tflite: cannot load the model .*fetch_models"):
        tflite.load_interpreter(bad)


def test_thread_count_is_checked(tmp_path):
    with pytest.raises(ModelError, match="num_threads must be at least 1, got 0"):
        tflite.load_interpreter(tmp_path / "x.tflite", num_threads=0)


def test_no_runtime_names_the_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tflite(name, *args, **kwargs):
        if name.startswith(("ai_edge_litert", "tflite_runtime")):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tflite)
    with pytest.raises(ModelError, match="pip install ai-edge-litert"):
        tflite.interpreter_class()


def test_the_native_xnnpack_info_line_is_dropped_and_other_output_kept(
    monkeypatch, capfd, tmp_path
):
    import os

    class ChattyInterpreter:
        def __init__(self, model_path: str, num_threads: int) -> None:
            os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
            os.write(2, b"WARNING: something a person should see\n")

        def allocate_tensors(self) -> None:
            pass

    monkeypatch.setattr(tflite, "interpreter_class", lambda: ChattyInterpreter)
    tflite.load_interpreter(tmp_path / "m.tflite")
    err = capfd.readouterr().err
    assert "XNNPACK delegate" not in err
    assert "WARNING: something a person should see" in err
