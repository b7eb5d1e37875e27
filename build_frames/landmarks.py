"""The MediaPipe face-mesh and iris-landmark networks on LiteRT (I/O only).

Models: Google MediaPipe face_landmark.tflite ("Real-time Facial Surface Geometry from
Monocular Video on Mobile GPUs", Kartynnik et al., CVPR-W 2019) and iris_landmark.tflite
("Real-time Pupil Tracking from Monocular Video for Digital Puppetry", Ablavatski et al.,
2020); upstream mediapipe/modules/face_landmark and iris_landmark; Apache-2.0 weights,
fetched and pinned by models/fetch_models.py.

Both take an RGB crop scaled to [0, 1] (MediaPipe's graphs: TfLiteConverterCalculator
with zero_center false / ImageToTensorCalculator range 0..1; checked by drawing the
landmarks on the test photos and the paintings) and return points in the crop's pixels.
Crops, flips and the way back to portrait pixels live in build_frames/analysis.py.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from device.errors import ModelError
from device.models import model_path
from device.tflite import load_interpreter

FACE_MESH_INPUT_PX = 192
IRIS_INPUT_PX = 64
NUM_MESH_POINTS = 468
NUM_EYE_CONTOUR_POINTS = 71
NUM_IRIS_POINTS = 5
_XYZ = 3
# uint8 samples / 255 -> [0, 1], the range both networks were trained on.
PIXEL_SCALE = 1.0 / 255.0

FloatArray = npt.NDArray[np.float64]


def _sigmoid(logit: float) -> float:
    return float(1.0 / (1.0 + np.exp(-np.clip(logit, -50.0, 50.0))))


class _Network:
    """One interpreter with a (1, S, S, 3) float32 input and outputs told apart by size."""

    def __init__(
        self,
        name: str,
        input_px: int,
        output_sizes: tuple[int, ...],
        model_dir: Path | None,
        num_threads: int,
    ) -> None:
        path = model_path(name, model_dir)
        self._interpreter: Any = load_interpreter(path, num_threads)
        (detail,) = self._interpreter.get_input_details()
        if tuple(detail["shape"]) != (1, input_px, input_px, 3) or (
            np.dtype(detail["dtype"]) != np.float32
        ):
            raise ModelError(
                f"{path}: input is {tuple(detail['shape'])!r} {detail['dtype']!r}, "
                f"expected (1, {input_px}, {input_px}, 3) float32 for {name!r}"
            )
        self._input_index = int(detail["index"])
        by_size = {
            int(np.prod(d["shape"])): int(d["index"])
            for d in self._interpreter.get_output_details()
        }
        if set(output_sizes) - set(by_size):
            raise ModelError(
                f"{path}: outputs have {sorted(by_size)} values, expected {sorted(output_sizes)} "
                f"for {name!r}"
            )
        self._outputs = [by_size[n] for n in output_sizes]
        self._input = np.empty((1, input_px, input_px, 3), np.float32)

    def run(self, crop_rgb: npt.NDArray[np.uint8]) -> list[FloatArray]:
        if self._interpreter is None:
            raise RuntimeError("landmark model used after close()")
        np.multiply(crop_rgb, PIXEL_SCALE, out=self._input[0], casting="unsafe")
        self._interpreter.set_tensor(self._input_index, self._input)
        self._interpreter.invoke()
        return [
            np.asarray(self._interpreter.get_tensor(i), np.float64).ravel() for i in self._outputs
        ]

    def close(self) -> None:
        self._interpreter = None


class LandmarkModels:
    """Face mesh and iris landmark networks, loaded once; a context manager.

    face_mesh(): (192, 192, 3) uint8 face crop -> ((468, 3) x, y, z in crop px, face
    presence probability). iris(): (64, 64, 3) uint8 crop of a subject's RIGHT eye (the
    image-left one; mirror the other eye first) -> ((71, 3) eye contour and brow points,
    (5, 3) iris centre then four rim points), crop px.
    """

    def __init__(self, model_dir: Path | None = None, num_threads: int = 1) -> None:
        self._mesh = _Network(
            "face_landmark",
            FACE_MESH_INPUT_PX,
            (NUM_MESH_POINTS * _XYZ, 1),
            model_dir,
            num_threads,
        )
        self._iris = _Network(
            "iris_landmark",
            IRIS_INPUT_PX,
            (NUM_EYE_CONTOUR_POINTS * _XYZ, NUM_IRIS_POINTS * _XYZ),
            model_dir,
            num_threads,
        )

    def face_mesh(self, crop_rgb: npt.NDArray[np.uint8]) -> tuple[FloatArray, float]:
        points, logit = self._mesh.run(crop_rgb)
        return points.reshape(NUM_MESH_POINTS, _XYZ), _sigmoid(float(logit[0]))

    def iris(self, crop_rgb: npt.NDArray[np.uint8]) -> tuple[FloatArray, FloatArray]:
        contour, iris = self._iris.run(crop_rgb)
        return contour.reshape(NUM_EYE_CONTOUR_POINTS, _XYZ), iris.reshape(NUM_IRIS_POINTS, _XYZ)

    def close(self) -> None:
        self._mesh.close()
        self._iris.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
