"""Cameras: a USB webcam or a video file, behind the Camera seam of device/capture.py.

(The Raspberry Pi camera lives in device/picamera.py.) Each grabs in its own thread
through capture.LatestFrameGrabber; a video file read with realtime=False hands over
every frame, so an offline simulation is deterministic.

    with open_camera("usb:0", 640, 480, 30) as camera:
        frame = camera.latest(after_seq=0, timeout_s=1.0)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import cv2
import numpy as np

from device.capture import Camera, GrabbingCamera, LatestFrameGrabber, Pacer
from device.errors import CameraError, ConfigError

# A USB camera may miss a frame now and then; this many misses in a row means it is gone.
MAX_CONSECUTIVE_READ_FAILURES = 30
# V4L2 keeps a queue of filled buffers; one buffer means read() returns a fresh frame.
V4L2_BUFFER_COUNT = 1
# Some containers report no frame rate; pace realtime playback at this instead.
FALLBACK_VIDEO_FPS = 30.0
# A video file standing in for a camera is decoded by one thread: FFmpeg's default of one
# per core takes CPU from the detector and keeps a frame pool per thread (measured at
# 1280x720 on 2 cores: 21 MB resident with the default, 9 MB with one thread).
VIDEO_DECODE_THREADS = 1
_USB_SOURCE = re.compile(r"(?:usb:)?(\d+)")
# Highest usb:N index: Linux numbers at most 256 video nodes (VIDEO_NUM_DEVICES in
# v4l2-dev.h), and a larger number overflows OpenCV's int argument (cv2.error).
MAX_USB_INDEX = 255
_VALID_SOURCES = (
    "'picamera2', 'usb:N' (or just N), '/dev/videoN', or the path of an existing video file"
)


def bgr_to_rgb_in_place(bgr: np.ndarray) -> np.ndarray:
    """The frame OpenCV just decoded, its channels swapped to RGB in its own buffer.

    No second frame-sized array per frame (2.7 MB at 1280x720); the decoder hands out a
    new buffer for every read, so nothing else sees the change.
    """
    rgb: np.ndarray = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=bgr)
    return rgb


def _v4l2_backend() -> int:
    """OpenCV's V4L2 backend on Linux (no GStreamer/FFmpeg guessing), any elsewhere."""
    return int(cv2.CAP_V4L2) if sys.platform.startswith("linux") else int(cv2.CAP_ANY)


class OpenCVCamera(GrabbingCamera):
    """A USB webcam (or any V4L2 device) read through OpenCV.

    device: an index (0 for /dev/video0) or a device path such as /dev/video0 or
        /dev/v4l/by-id/usb-…-video-index0. The camera may pick a nearby size or rate.
    """

    def __init__(self, device: int | str, width: int, height: int, fps: float) -> None:
        self.name = f"usb:{device}" if isinstance(device, int) else str(device)
        # OpenCV logs its own WARN lines when a device cannot be opened; our CameraError
        # says the same in one line with the fix, so only its errors get through.
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        try:
            self._cap = cv2.VideoCapture(device, _v4l2_backend())
        except cv2.error as exc:  # e.g. an index too large for OpenCV's int
            reason = exc.err.splitlines()[-1].lstrip(">- ") if exc.err else str(exc.code)
            raise CameraError(
                f"cannot open camera {self.name!r} ({reason}) — "
                "try one from `v4l2-ctl --list-devices`"
            ) from None
        if not self._cap.isOpened():
            self._cap.release()
            raise CameraError(
                f"cannot open camera {self.name!r} — is it plugged in? "
                "try `v4l2-ctl --list-devices`"
            )
        self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self._cap.set(cv2.CAP_PROP_FPS, fps)
        self._cap.set(cv2.CAP_PROP_BUFFERSIZE, V4L2_BUFFER_COUNT)
        ok, _ = self._cap.read()
        if not ok:
            self._cap.release()
            raise CameraError(
                f"camera {self.name!r} opened but delivered no frame — is it a capture node? "
                "try another from `v4l2-ctl --list-devices`"
            )
        self._failures = 0
        self._grabber = LatestFrameGrabber(self._grab, self.name, release=self._release)

    def _grab(self) -> np.ndarray:
        while True:
            ok, bgr = self._cap.read()
            if ok:
                self._failures = 0
                return bgr_to_rgb_in_place(bgr)
            self._failures += 1
            if self._failures >= MAX_CONSECUTIVE_READ_FAILURES:
                raise CameraError(f"{self._failures} reads in a row failed — was it unplugged?")

    def _release(self) -> None:
        self._cap.release()


class VideoFileCamera(GrabbingCamera):
    """A video file played as a camera (simulation, demos, benchmarks).

    loop: start again at the end instead of ending.
    realtime: pace frames at the file's frame rate and keep only the newest, like a
        live camera; when False, hand over every frame as fast as they are taken.
    """

    def __init__(self, path: str | Path, loop: bool = False, realtime: bool = False) -> None:
        self.path = Path(path)
        self.name = str(self.path)
        if not self.path.is_file():
            raise CameraError(f"video file {self.name!r} not found")
        self._cap = self._open()
        ok, first = self._cap.read() if self._cap.isOpened() else (False, None)
        if not ok:
            self._cap.release()
            raise CameraError(
                f"cannot decode video file {self.name!r} — not a video, or a codec OpenCV lacks "
                "(try re-encoding it: `ffmpeg -i IN -c:v libx264 OUT.mp4`)"
            )
        self._pending: np.ndarray | None = first
        fps = float(self._cap.get(cv2.CAP_PROP_FPS))
        self.fps = fps if fps > 0 and np.isfinite(fps) else FALLBACK_VIDEO_FPS
        count = float(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        # The container's frame count (0: unknown); an estimate, for progress bars only.
        self.frame_count = int(count) if count > 0 and np.isfinite(count) else 0
        self._loop = loop
        self._pacer = Pacer(self.fps) if realtime else None
        self._grabber = LatestFrameGrabber(
            self._grab, self.name, lossless=not realtime, release=self._release
        )

    def _open(self) -> cv2.VideoCapture:
        return cv2.VideoCapture(
            self.name, cv2.CAP_ANY, [cv2.CAP_PROP_N_THREADS, VIDEO_DECODE_THREADS]
        )

    def _read_bgr(self) -> np.ndarray | None:
        if self._pending is not None:
            bgr, self._pending = self._pending, None
            return bgr
        ok, bgr = self._cap.read()
        if not ok and self._loop:
            # Reopen rather than seek: seeking to frame 0 is not exact in every container.
            # Only this (capture) thread touches self._cap, and it releases the last one.
            self._cap.release()
            self._cap = self._open()
            ok, bgr = self._cap.read()
        return bgr if ok else None

    def _grab(self) -> np.ndarray | None:
        bgr = self._read_bgr()
        if bgr is None:
            return None
        if self._pacer is not None:
            self._pacer.wait()
        return bgr_to_rgb_in_place(bgr)

    def _release(self) -> None:
        self._cap.release()


def open_camera(
    source: str, width: int, height: int, fps: float, loop: bool = False, realtime: bool = True
) -> Camera:
    """The camera named by `source` (see _VALID_SOURCES); loop/realtime only apply to files.

    Raises ConfigError for a source that names no camera at all (a bad index, an
    unknown form, a file that does not exist), CameraError when the camera fails.
    """
    if source == "picamera2":
        from device.picamera import Picamera2Camera  # only on a Pi

        return Picamera2Camera(width, height, fps)
    usb = _USB_SOURCE.fullmatch(source)
    if usb:
        index = int(usb.group(1))
        if index > MAX_USB_INDEX:
            raise ConfigError(
                f"camera source {source!r}: USB camera index must be 0..{MAX_USB_INDEX} "
                "(see `v4l2-ctl --list-devices`)"
            )
        return OpenCVCamera(index, width, height, fps)
    if source.startswith("/dev/"):
        return OpenCVCamera(source, width, height, fps)
    if Path(source).is_file():
        return VideoFileCamera(source, loop=loop, realtime=realtime)
    # A configuration mistake, not a passing fault: ConfigError (exit 78) so that
    # systemd does not restart the service forever.
    raise ConfigError(
        f"unknown camera source {source!r} (no such file either): use {_VALID_SOURCES}"
    )
