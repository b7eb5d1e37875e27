"""Loading a .tflite model into a LiteRT interpreter (tflite-runtime where LiteRT has no wheel).

One place that knows which runtime is installed and turns its failures into ModelError
with a message that says how to fix them; the face detector (device/) and the build
step's landmark models (build_frames/) both load through it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from device.errors import ModelError

INSTALL_HINT = "pip install ai-edge-litert (or, where it has no wheel, pip install tflite-runtime)"
FETCH_HINT = "delete it and run `python models/fetch_models.py`"


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
        interpreter = interpreter_cls(model_path=str(path), num_threads=num_threads)
        interpreter.allocate_tensors()
    except (RuntimeError, ValueError) as exc:
        raise ModelError(f"{path}: cannot load the model ({exc}); {FETCH_HINT}") from exc
    return interpreter
