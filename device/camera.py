"""Cameras: a Raspberry Pi camera, a USB webcam, or a video file, all behind one seam.

(The Raspberry Pi camera lives in device/picamera.py.)

Every camera grabs in its own daemon thread through LatestFrameGrabber, which keeps
only the newest frame: a slow consumer never works through a backlog. A video file
read with realtime=False is the exception: the grabber then hands over every frame,
so an offline simulation is deterministic.

    with open_camera("usb:0", 640, 480, 30) as camera:
        frame = camera.latest(after_seq=0, timeout_s=1.0)
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol

import cv2
import numpy as np

from device.errors import CameraError, ConfigError

log = logging.getLogger("mona_frame.camera")

# How long close() waits for the capture thread; a grab blocked in a driver may take
# up to one frame interval, and the thread is a daemon, so it cannot hang the exit.
JOIN_TIMEOUT_S = 2.0
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


@dataclass(frozen=True)
class Frame:
    """One camera frame.

    image_rgb: (H, W, 3) uint8 RGB.
    seq: 1 for the first frame a camera delivers, increasing by 1 per captured frame.
    t_capture: time.monotonic() seconds when the frame was grabbed.
    """

    image_rgb: np.ndarray
    seq: int
    t_capture: float


class Camera(Protocol):
    """The camera seam: real cameras below, fakes in tests and benches."""

    @property
    def ended(self) -> bool:
        """True once a non-looping video has run out and its last frame was handed out."""
        ...

    def start(self) -> None: ...

    def latest(self, after_seq: int, timeout_s: float) -> Frame | None:
        """The newest frame with seq > after_seq, waiting up to timeout_s; None on timeout."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Camera: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class LatestFrameGrabber:
    """Runs grab() in a daemon thread and keeps the newest frame for latest().

    grab: returns an (H, W, 3) uint8 RGB frame, or None when the stream has ended;
        an exception it raises stops capture and is re-raised by latest() as CameraError.
    lossless: when True the thread waits until each frame has been taken before
        grabbing the next, so the consumer sees every frame (offline video).
    release: frees the device; called once, by the capture thread after its last
        grab() (never while a grab is still inside the driver), or by close() when
        the thread never started.
    """

    def __init__(
        self,
        grab: Callable[[], np.ndarray | None],
        name: str,
        lossless: bool = False,
        release: Callable[[], None] | None = None,
    ) -> None:
        self._grab = grab
        self._name = name
        self._lossless = lossless
        self._release = release
        self._release_lock = threading.Lock()
        self._released = False
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._taken_seq = 0
        self._finished = False
        self._error: Exception | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def ended(self) -> bool:
        with self._cond:
            return self._finished and self._error is None and self._taken_seq >= self._newest_seq()

    def start(self) -> None:
        """Start the capture thread (once; later calls do nothing)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"camera {self._name}", daemon=True
            )
            self._thread.start()

    def latest(self, after_seq: int, timeout_s: float) -> Frame | None:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                if self._error is not None:
                    raise CameraError(
                        f"camera {self._name!r} failed: {self._error}"
                    ) from self._error
                frame = self._frame
                if frame is not None and frame.seq > after_seq:
                    self._taken_seq = max(self._taken_seq, frame.seq)
                    self._cond.notify_all()
                    return frame
                remaining = deadline - time.monotonic()
                if self._finished or remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def close(self) -> None:
        """Stop capturing; the device is released once the capture thread is out of grab().

        Waits up to JOIN_TIMEOUT_S; a grab still blocked in the driver after that is
        left to the (daemon) thread, which releases the device when the grab returns.
        """
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        thread = self._thread
        if thread is None:
            self._release_once()
            return
        if thread is threading.current_thread():
            return  # grab() called close(): the loop ends, then releases
        thread.join(JOIN_TIMEOUT_S)
        if thread.is_alive():
            log.warning(
                "camera %r: still inside a grab after %.0f s; it is released when that returns",
                self._name,
                JOIN_TIMEOUT_S,
            )

    def _release_once(self) -> None:
        with self._release_lock:
            if self._released or self._release is None:
                return
            self._released = True
        self._release()

    def _newest_seq(self) -> int:
        return self._frame.seq if self._frame is not None else 0

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                image = self._grab()
                if image is None:
                    break
                t_capture = time.monotonic()
                with self._cond:
                    self._frame = Frame(image, self._newest_seq() + 1, t_capture)
                    self._cond.notify_all()
                    while (
                        self._lossless
                        and self._taken_seq < self._frame.seq
                        and not self._stop.is_set()
                    ):
                        self._cond.wait()
        except Exception as exc:  # kept for the consumer: latest() re-raises it
            with self._cond:
                self._error = exc
        finally:
            with self._cond:
                self._finished = True
                self._cond.notify_all()
            try:
                self._release_once()
            except Exception:  # nobody to raise to in this thread
                log.exception("camera %r: releasing the device failed", self._name)


class _Pacer:
    """Sleeps so that the n-th frame is released n / fps seconds after the first."""

    def __init__(self, fps: float) -> None:
        self.fps = fps
        self._n = 0
        self._t_first: float | None = None

    def wait(self) -> None:
        now = time.monotonic()
        if self._t_first is None:
            self._t_first = now
        time.sleep(max(0.0, self._t_first + self._n / self.fps - now))
        self._n += 1


class GrabbingCamera:
    """Camera plumbing shared by the real cameras: a grabber and the context manager.

    A subclass sets self._grabber (a LatestFrameGrabber over its own grab and
    _release functions: the capture thread owns the device and releases it).
    """

    _grabber: LatestFrameGrabber

    @property
    def ended(self) -> bool:
        return self._grabber.ended

    def start(self) -> None:
        self._grabber.start()

    def latest(self, after_seq: int, timeout_s: float) -> Frame | None:
        return self._grabber.latest(after_seq, timeout_s)

    def close(self) -> None:
        self._grabber.close()

    def _release(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> GrabbingCamera:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


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
        self._pacer = _Pacer(self.fps) if realtime else None
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


class FrameListCamera(GrabbingCamera):
    """Frames already in memory played as a camera, for tests and benchmarks.

    Stands in for a camera whose image processor delivers ready RGB buffers (as a
    Pi's ISP does), so what a benchmark measures is our own per-frame cost.
    fps: pacing when realtime is True; loop: start again at the end.
    """

    def __init__(
        self, frames: list[np.ndarray], fps: float = 30.0, loop: bool = False,
        realtime: bool = True,
    ) -> None:
        if not frames:
            raise CameraError("FrameListCamera needs at least one frame")
        self.name = f"{len(frames)} frames in memory"
        self.fps = fps
        self._frames = frames
        self._loop = loop
        self._pacer = _Pacer(fps) if realtime else None
        self._n_read = 0
        self._grabber = LatestFrameGrabber(
            self._grab, self.name, lossless=not realtime, release=self._release
        )

    def _grab(self) -> np.ndarray | None:
        if self._n_read >= len(self._frames) and not self._loop:
            return None
        if self._pacer is not None:
            self._pacer.wait()
        image = self._frames[self._n_read % len(self._frames)]
        self._n_read += 1
        return image

    def _release(self) -> None:
        self._frames = []


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
