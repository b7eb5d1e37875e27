"""The face-detector seam: a Protocol, BlazeFace on LiteRT, and a scripted fake.

BlazeFaceDetector only does I/O (set the input tensor, invoke, read the outputs); the
pre- and post-processing maths is in device/blazeface.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

import numpy as np
import numpy.typing as npt

from device import blazeface
from device.blazeface import PixelRegion
from device.errors import ModelError
from device.faces import Face
from device.models import model_path
from device.tflite import load_interpreter

# Which output is which is told by the last axis: 16 box values or 1 score per anchor.
_BOXES_LAST_DIM = blazeface.NUM_COORDS
_SCORES_LAST_DIM = 1


class Detector(Protocol):
    """Finds faces in an RGB frame, or in a region of it."""

    def detect(
        self, image_rgb: npt.NDArray[np.uint8], region_px: PixelRegion | None = None
    ) -> list[Face]:
        """image_rgb: (H, W, 3) uint8; region_px: where to look (default: everywhere).

        Faces in the frame's pixels (whatever the region), highest score first.
        """
        ...

    def close(self) -> None: ...


class BlazeFaceDetector:
    """MediaPipe BlazeFace (short_range or full_range) on the CPU.

    XNNPACK stays on (LiteRT's default). model_path is the verified .tflite file;
    invoke_seconds holds the duration (s) of the last bare interpreter.invoke(), from
    detect() or invoke().
    """

    def __init__(
        self,
        model: str = "short_range",
        model_dir: Path | None = None,
        num_threads: int = 1,
        min_score: float = 0.5,
    ) -> None:
        if model not in blazeface.SPECS:
            raise ModelError(
                f"model {model!r} is not a face detector; choose one of "
                f"{sorted(blazeface.SPECS)!r}"
            )
        if not 0.0 <= min_score <= 1.0:
            raise ModelError(f"min_score must be in [0, 1], got {min_score!r}")
        self.spec = blazeface.SPECS[model]
        self.min_score = min_score
        self.invoke_seconds = 0.0
        path = model_path(model, model_dir)
        self.model_path = path
        self._interpreter: Any = load_interpreter(path, num_threads)
        self._input_index, self._boxes_index, self._scores_index = self._tensor_indices(path)
        size = self.spec.input_size_px
        self._input = np.empty((1, size, size, 3), np.float32)  # reused for every frame

    def _tensor_indices(self, path: Path) -> tuple[int, int, int]:
        size = self.spec.input_size_px
        (input_detail,) = self._interpreter.get_input_details()
        if tuple(input_detail["shape"]) != (1, size, size, 3) or (
            np.dtype(input_detail["dtype"]) != np.float32
        ):
            raise ModelError(
                f"{path}: input is {tuple(input_detail['shape'])!r} {input_detail['dtype']!r}, "
                f"expected (1, {size}, {size}, 3) float32 for {self.spec.name!r}"
            )
        by_last_dim = {
            int(detail["shape"][-1]): int(detail["index"])
            for detail in self._interpreter.get_output_details()
            if int(detail["shape"][-2]) == self.spec.num_anchors
        }
        if set(by_last_dim) != {_BOXES_LAST_DIM, _SCORES_LAST_DIM}:
            raise ModelError(
                f"{path}: outputs are not ({self.spec.num_anchors}, 16) boxes and "
                f"({self.spec.num_anchors}, 1) scores"
            )
        return (
            int(input_detail["index"]),
            by_last_dim[_BOXES_LAST_DIM],
            by_last_dim[_SCORES_LAST_DIM],
        )

    def _require_open(self) -> Any:
        if self._interpreter is None:
            raise RuntimeError("BlazeFaceDetector used after close()")
        return self._interpreter

    def invoke(self) -> None:
        """Run only the network, on the input already set by detect(); times it."""
        interpreter = self._require_open()
        start = time.perf_counter()
        interpreter.invoke()
        self.invoke_seconds = time.perf_counter() - start

    def detect(
        self, image_rgb: npt.NDArray[np.uint8], region_px: PixelRegion | None = None
    ) -> list[Face]:
        """image_rgb: (H, W, 3) uint8; region_px: the part to run the network on.

        Faces in image_rgb's pixels, highest score first. A face cut by the region's
        edge keeps the box the network predicts for it, reaching past the edge.
        """
        interpreter = self._require_open()
        tensor, transform = blazeface.letterbox(
            image_rgb, self.spec.input_size_px, self._input, region_px
        )
        interpreter.set_tensor(self._input_index, tensor)
        self.invoke()
        return blazeface.faces_from_raw(
            interpreter.get_tensor(self._boxes_index),
            interpreter.get_tensor(self._scores_index),
            self.spec,
            transform,
            self.min_score,
        )

    def close(self) -> None:
        self._interpreter = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


FaceScript = Sequence[Sequence[Face]] | Callable[[npt.NDArray[np.uint8]], Sequence[Face]]


class FakeDetector:
    """A Detector for tests: returns scripted faces.

    script: one face list per detect() call (an empty list once it runs out), or a
    callable given each frame; the faces are in frame pixels. Like a real detector,
    a call with a region sees only the faces whose centre lies inside it. `frames`
    and `regions` record every call's frame and region (None: the whole frame).
    """

    def __init__(self, script: FaceScript) -> None:
        self._script = script
        self._lists: Iterator[Sequence[Face]] | None = (
            None if callable(script) else iter(script)
        )
        self.frames: list[npt.NDArray[np.uint8]] = []
        self.regions: list[PixelRegion | None] = []
        self.closed = False

    def detect(
        self, image_rgb: npt.NDArray[np.uint8], region_px: PixelRegion | None = None
    ) -> list[Face]:
        if self.closed:
            raise RuntimeError("FakeDetector used after close()")
        self.frames.append(image_rgb)
        self.regions.append(region_px)
        if self._lists is None:
            assert callable(self._script)
            faces = list(self._script(image_rgb))
        else:
            faces = list(next(self._lists, []))
        if region_px is None:
            return faces
        x_min, y_min, x_max, y_max = region_px
        return [
            f
            for f in faces
            if x_min <= f.center_px[0] < x_max and y_min <= f.center_px[1] < y_max
        ]

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
