"""A Raspberry Pi camera through Picamera2 (only on a Pi), and which sensor mode it runs.

Stream choice: the MAIN stream at the configured size (1280x720 by default: big enough
for far viewers), no lores stream. The ISP scales and converts to RGB in hardware on
both Pi 4 and Pi 5, whereas a Pi 4 lores stream can only be YUV420 and would cost a CPU
conversion every frame; lores only pays off when a large main stream is needed as well,
which the frame never does. The format is Picamera2's "BGR888", which despite its name
is [R, G, B] in memory: frames arrive as RGB and need no per-frame conversion (at
1280x720 a cvtColor would cost ~1 ms of a Pi 4 core per frame).

Sensor mode: given only the output size, libcamera may pick a *cropped* sensor mode
(the Camera Module 3's 1536x864 mode is cut from the middle two thirds of the sensor,
~47° instead of 66°), which would narrow the room the frame sees and make every gaze
angle wrong. The camera therefore asks for the smallest sensor mode that sees the whole
field of view (full_view_sensor_mode); the ISP then scales it to the output size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from device.capture import GrabbingCamera, LatestFrameGrabber
from device.errors import CameraError

# Picamera2's name for 24-bit pixels stored [R, G, B] (its "RGB888" is [B, G, R]).
RGB_IN_MEMORY_FORMAT = "BGR888"


def full_view_sensor_mode(
    modes: Sequence[Mapping[str, Any]], width: int, height: int, fps: float
) -> Mapping[str, Any] | None:
    """The sensor mode to ask for: the whole field of view, fast enough, fewest pixels.

    modes: Picamera2's `sensor_modes`, each with "size" (w, h), "crop_limits"
    (x, y, w, h) in full-resolution sensor px and "fps" (its maximum). Of the modes
    whose crop is as wide as the widest, prefer those reaching `fps`, then those at
    least width x height, then the fewest pixels (the largest if none is big enough).
    None when there are no modes.
    """
    if not modes:
        return None
    widest = max(int(m["crop_limits"][2]) for m in modes)
    full = [m for m in modes if int(m["crop_limits"][2]) == widest]
    fast = [m for m in full if float(m["fps"]) >= fps] or [max(full, key=lambda m: m["fps"])]
    big = [m for m in fast if m["size"][0] >= width and m["size"][1] >= height]
    if big:
        return min(big, key=lambda m: m["size"][0] * m["size"][1])
    return max(fast, key=lambda m: m["size"][0] * m["size"][1])


class Picamera2Camera(GrabbingCamera):
    """A Raspberry Pi camera through Picamera2; see the module docstring."""

    def __init__(self, width: int, height: int, fps: float) -> None:
        self.name = "picamera2"
        try:
            from picamera2 import Picamera2
        except ImportError:
            raise CameraError(
                "Picamera2 is not installed: on a Raspberry Pi run "
                "`sudo apt install python3-picamera2` and create the venv with "
                "--system-site-packages"
            ) from None
        try:
            self._cam: Any = Picamera2()
        except (IndexError, RuntimeError) as exc:
            raise CameraError(
                f"no Raspberry Pi camera found ({exc}) — check the ribbon cable and run "
                "`rpicam-hello --list-cameras`"
            ) from None
        try:
            mode = full_view_sensor_mode(self._cam.sensor_modes, width, height, fps)
            sensor: dict[str, Any] = {}
            if mode is not None:
                sensor["sensor"] = {
                    "output_size": tuple(mode["size"]),
                    "bit_depth": int(mode["bit_depth"]),
                }
            config = self._cam.create_video_configuration(
                main={"size": (width, height), "format": RGB_IN_MEMORY_FORMAT},
                controls={"FrameRate": float(fps)},
                **sensor,
            )
            self._cam.configure(config)
            self._cam.start()
        except Exception as exc:
            self._cam.close()
            raise CameraError(
                f"cannot start the Raspberry Pi camera at {width}x{height} {fps} fps: {exc}"
            ) from exc
        self._grabber = LatestFrameGrabber(self._grab, self.name, release=self._release)

    def _grab(self) -> np.ndarray:
        rgb: np.ndarray = self._cam.capture_array("main")
        return rgb

    def _release(self) -> None:
        try:
            self._cam.stop()
        finally:
            self._cam.close()
