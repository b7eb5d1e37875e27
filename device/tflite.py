"""Loading a .tflite model into a LiteRT interpreter (tflite-runtime where LiteRT has no wheel).

One place that knows which runtime is installed and turns its failures into ModelError
with a message that says how to fix them; the face detector (device/) and the build
step's landmark models (build_frames/) both load through it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from device.errors import ModelError

INSTALL_HINT = "pip install ai-edge-litert (or, where it has no wheel, pip install tflite-runtime)"
FETCH_HINT = "delete it and run `python models/fetch_models.py`"
# LiteRT's C++ side writes this line to file descriptor 2 every time a model loads: noise in
# the journal, and a second line beside every one-line error that comes after model loading.
NATIVE_INFO_PREFIX = b"INFO: Created TensorFlow Lite XNNPACK delegate"


@contextmanager
def _without_native_info_line() -> Iterator[None]:
    """Run the body with fd 2 captured; pass on everything but the XNNPACK INFO line."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().splitlines(keepends=True)
            kept = b"".join(line for line in lines if not line.startswith(NATIVE_INFO_PREFIX))
            if kept:
                sys.stderr.write(kept.decode(errors="replace"))
                sys.stderr.flush()


def interpreter_class() -> Any:
    """LiteRT's Interpreter, else tflite-runtime's; ModelError naming the install if neither."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter

        return Interpreter
    except ImportError:
        raise ModelError(f"no TFLite interpreter is installed; {INSTALL_HINT}") from None


def load_interpreter(path: Path, num_threads: int = 1) -> Any:
    """An interpreter for the model at `path` with its tensors allocated (XNNPACK on).

    Raises ModelError if no runtime is installed, num_threads < 1, or the file does not
    load as a model.
    """
    if num_threads < 1:
        raise ModelError(f"num_threads must be at least 1, got {num_threads!r}")
    interpreter_cls = interpreter_class()
    try:
        with _without_native_info_line():
            interpreter = interpreter_cls(model_path=str(path), num_threads=num_threads)
            interpreter.allocate_tensors()
    except (RuntimeError, ValueError) as exc:
        raise ModelError(f"{path}: cannot load the model ({exc}); {FETCH_HINT}") from exc
    return interpreter
