"""Camera plumbing: the frame type, the camera seam, and the newest-frame hand-off.

Every camera grabs in its own daemon thread through LatestFrameGrabber, which keeps
only the newest frame: a slow consumer never works through a backlog (lossless mode,
for offline video, hands over every frame instead). The cameras themselves live in
device/camera.py (USB, video file) and device/picamera.py (Raspberry Pi); the
in-memory FrameListCamera here stands in for them in tests and benchmarks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

import numpy as np

from device.errors import CameraError

log = logging.getLogger("mona_frame.camera")

# How long close() waits for the capture thread; a grab blocked in a driver may take
# up to one frame interval, and the thread is a daemon, so it cannot hang the exit.
JOIN_TIMEOUT_S = 2.0


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


class Pacer:
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
        self._pacer = Pacer(fps) if realtime else None
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
