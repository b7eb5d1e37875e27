from __future__ import annotations

import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from device.camera import OpenCVCamera, VideoFileCamera, open_camera
from device.capture import Camera, Frame, LatestFrameGrabber
from device.errors import CameraError, ConfigError
from device.picamera import Picamera2Camera, full_view_sensor_mode

CLIP_FPS = 30.0
CLIP_WH = (64, 48)
# Frame n of a test clip is uniformly grey at n * GREY_STEP; mp4v keeps flat frames
# within a few levels, so decoding rounds to the nearest step.
GREY_STEP = 8


def _write_clip(path: Path, n_frames: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), CLIP_FPS, CLIP_WH)
    assert writer.isOpened()
    for n in range(n_frames):
        writer.write(np.full((CLIP_WH[1], CLIP_WH[0], 3), n * GREY_STEP, np.uint8))
    writer.release()
    return path


def _frame_number(frame: Frame) -> int:
    return round(float(frame.image_rgb.mean()) / GREY_STEP)


def _drain(camera: Camera, timeout_s: float = 5.0) -> list[Frame]:
    """Every frame the camera hands out until it ends."""
    frames: list[Frame] = []
    seq = 0
    while not camera.ended:
        frame = camera.latest(seq, timeout_s)
        assert frame is not None or camera.ended, "camera stalled"
        if frame is not None:
            frames.append(frame)
            seq = frame.seq
    return frames


def test_offline_video_delivers_every_frame_in_order(tmp_path: Path) -> None:
    clip = _write_clip(tmp_path / "clip.mp4", 20)
    with VideoFileCamera(clip, realtime=False) as camera:
        time.sleep(0.1)  # a fast producer must still wait for the consumer
        frames = _drain(camera)
        assert camera.latest(frames[-1].seq, 0.5) is None
    assert [_frame_number(f) for f in frames] == list(range(20))
    assert [f.seq for f in frames] == list(range(1, 21))
    assert frames[0].image_rgb.shape == (CLIP_WH[1], CLIP_WH[0], 3)
    assert all(a.t_capture <= b.t_capture for a, b in zip(frames, frames[1:], strict=False))


def test_looping_video_starts_again(tmp_path: Path) -> None:
    clip = _write_clip(tmp_path / "clip.mp4", 5)
    with VideoFileCamera(clip, loop=True, realtime=False) as camera:
        frames = []
        seq = 0
        for _ in range(12):
            frame = camera.latest(seq, 5.0)
            assert frame is not None
            frames.append(frame)
            seq = frame.seq
        assert not camera.ended
    assert [_frame_number(f) for f in frames] == [0, 1, 2, 3, 4] * 2 + [0, 1]


def test_realtime_video_is_paced_at_the_file_rate(tmp_path: Path) -> None:
    n_frames = 15
    clip = _write_clip(tmp_path / "clip.mp4", n_frames)
    start = time.monotonic()
    with open_camera(str(clip), 640, 480, 30, realtime=True) as camera:
        frames = _drain(camera)
    nominal_s = (n_frames - 1) / CLIP_FPS
    assert time.monotonic() - start >= 0.7 * nominal_s
    assert frames[-1].t_capture - frames[0].t_capture >= 0.7 * nominal_s
    assert _frame_number(frames[-1]) == n_frames - 1


def test_slow_consumer_gets_the_newest_frame_not_a_backlog() -> None:
    counter = iter(range(1_000_000))

    def grab() -> np.ndarray:
        time.sleep(0.002)
        return np.full((2, 2, 3), next(counter) % 256, np.uint8)

    grabber = LatestFrameGrabber(grab, "fake")
    grabber.start()
    try:
        first = grabber.latest(0, 2.0)
        assert first is not None
        time.sleep(0.2)  # the producer runs ahead meanwhile
        second = grabber.latest(first.seq, 2.0)
        assert second is not None
        assert second.seq > first.seq + 10  # skipped the frames it was too slow for
        third = grabber.latest(second.seq, 2.0)
        assert third is not None and third.seq > second.seq
    finally:
        grabber.close()


def test_latest_times_out_when_the_camera_stalls() -> None:
    release = threading.Event()

    def grab() -> np.ndarray:
        release.wait(5.0)
        return np.zeros((2, 2, 3), np.uint8)

    grabber = LatestFrameGrabber(grab, "stalled")
    grabber.start()
    try:
        start = time.monotonic()
        assert grabber.latest(0, 0.2) is None
        assert time.monotonic() - start >= 0.15
        assert not grabber.ended
    finally:
        release.set()
        grabber.close()


def test_capture_thread_errors_reach_the_consumer() -> None:
    calls = 0

    def grab() -> np.ndarray:
        nonlocal calls
        calls += 1
        if calls > 2:
            raise OSError("device unplugged")
        return np.zeros((2, 2, 3), np.uint8)

    grabber = LatestFrameGrabber(grab, "flaky", lossless=True)
    grabber.start()
    try:
        assert grabber.latest(0, 2.0) is not None
        assert grabber.latest(1, 2.0) is not None
        with pytest.raises(CameraError, match="flaky.*device unplugged"):
            grabber.latest(2, 2.0)
    finally:
        grabber.close()


def test_close_never_releases_the_device_while_a_grab_is_inside_the_driver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A grab stuck past the join timeout: close() returns, and the capture thread
    releases the device only once that grab has come back."""
    import device.capture as camera_module

    monkeypatch.setattr(camera_module, "JOIN_TIMEOUT_S", 0.1)
    in_grab, unblock = threading.Event(), threading.Event()
    events: list[str] = []

    def grab() -> np.ndarray:
        in_grab.set()
        unblock.wait(5.0)
        events.append("grab returned")
        return np.zeros((2, 2, 3), np.uint8)

    grabber = LatestFrameGrabber(grab, "stuck", release=lambda: events.append("released"))
    grabber.start()
    assert in_grab.wait(2.0)
    grabber.close()
    assert events == []  # not released under the blocked grab
    unblock.set()
    deadline = time.monotonic() + 2.0
    while "released" not in events and time.monotonic() < deadline:
        time.sleep(0.01)
    assert events == ["grab returned", "released"]
    grabber.close()  # a second close releases nothing twice
    assert events == ["grab returned", "released"]


def test_a_grabber_never_started_is_released_by_close() -> None:
    released: list[bool] = []
    grabber = LatestFrameGrabber(lambda: None, "unused", release=lambda: released.append(True))
    grabber.close()
    grabber.close()
    assert released == [True]


def test_a_looping_video_releases_the_capture_it_last_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = _write_clip(tmp_path / "clip.mp4", 3)
    opened: list[Any] = []
    real_capture = cv2.VideoCapture

    def capture(*args: Any) -> Any:
        cap = real_capture(*args)
        opened.append(cap)
        return cap

    monkeypatch.setattr(cv2, "VideoCapture", capture)
    with VideoFileCamera(clip, loop=True, realtime=False) as camera:
        seq = 0
        for _ in range(8):  # past the end twice: two reopenings
            frame = camera.latest(seq, 2.0)
            assert frame is not None
            seq = frame.seq
    assert len(opened) >= 3 and not any(cap.isOpened() for cap in opened)


def test_close_stops_a_lossless_producer_waiting_for_the_consumer() -> None:
    grabber = LatestFrameGrabber(lambda: np.zeros((2, 2, 3), np.uint8), "waiting", lossless=True)
    grabber.start()
    assert grabber.latest(0, 2.0) is not None
    start = time.monotonic()
    grabber.close()
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize("source", ["webcam", "usb:x", "rtsp://cam", "nope.mp4", ""])
def test_bad_source_lists_the_valid_forms(source: str) -> None:
    """A source naming no camera is a configuration mistake: ConfigError (exit 78, so
    systemd does not restart forever), no longer CameraError (a deliberate change)."""
    with pytest.raises(ConfigError, match="picamera2.*usb:N.*/dev/videoN.*video file"):
        open_camera(source, 640, 480, 30)


@pytest.mark.parametrize("source", ["usb:99999999999999999999", "99999999999999999999", "usb:256"])
def test_a_huge_usb_index_is_a_config_error_not_a_traceback(source: str) -> None:
    with pytest.raises(ConfigError, match=r"USB camera index must be 0\.\.255"):
        open_camera(source, 640, 480, 30)


def test_opencv_refusing_an_index_is_a_camera_error() -> None:
    with pytest.raises(CameraError, match="cannot open camera 'usb:99999999999999999999'.*v4l2"):
        OpenCVCamera(99999999999999999999, 640, 480, 30)


def test_missing_video_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "missing.mp4"
    with pytest.raises(CameraError, match="missing.mp4.*not found"):
        VideoFileCamera(missing)


def test_unreadable_video_file_is_named(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video")
    with pytest.raises(CameraError, match="junk.mp4"):
        open_camera(str(junk), 640, 480, 30)


@pytest.mark.parametrize(
    ("source", "name"), [("usb:63", "usb:63"), ("63", "usb:63"), ("/dev/video63", "/dev/video63")]
)
def test_absent_usb_camera_says_how_to_find_one(source: str, name: str) -> None:
    with pytest.raises(CameraError, match=f"cannot open camera '{name}'.*v4l2-ctl --list-devices"):
        open_camera(source, 640, 480, 30)


def test_opencv_camera_accepts_an_index() -> None:
    with pytest.raises(CameraError, match="usb:63"):
        OpenCVCamera(63, 640, 480, 30)


def test_missing_picamera2_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)  # makes `import picamera2` fail
    with pytest.raises(
        CameraError, match="sudo apt install python3-picamera2.*system-site-packages"
    ):
        open_camera("picamera2", 640, 480, 30)


# Camera Module 3 (IMX708) as `rpicam-hello --list-cameras` lists it: the 1536x864 mode
# is cut from the middle of the sensor, the other two see the whole field of view.
IMX708_MODES = [
    {"size": (1536, 864), "crop_limits": (768, 432, 3072, 1728), "fps": 120.13, "bit_depth": 10},
    {"size": (2304, 1296), "crop_limits": (0, 0, 4608, 2592), "fps": 56.03, "bit_depth": 10},
    {"size": (4608, 2592), "crop_limits": (0, 0, 4608, 2592), "fps": 14.35, "bit_depth": 10},
]


class _FakePicamera2:
    """Stands in for picamera2.Picamera2: an IMX708's modes, RGB frames, records the calls."""

    instances: list[_FakePicamera2] = []
    sensor_modes = IMX708_MODES

    def __init__(self) -> None:
        self.config: dict[str, Any] = {}
        self.calls: list[str] = []
        _FakePicamera2.instances.append(self)

    def create_video_configuration(self, **kwargs: Any) -> dict[str, Any]:
        return dict(kwargs)

    def configure(self, config: dict[str, Any]) -> None:
        self.config = config

    def start(self) -> None:
        self.calls.append("start")

    def capture_array(self, stream: str) -> np.ndarray:
        time.sleep(0.001)
        width, height = self.config[stream]["size"]
        rgb = np.zeros((height, width, 3), np.uint8)
        rgb[..., 2] = 200  # blue, stored last by Picamera2's "BGR888"
        return rgb

    def stop(self) -> None:
        self.calls.append("stop")

    def close(self) -> None:
        self.calls.append("close")


def test_picamera2_camera_uses_the_main_stream_rgb_and_the_full_field_of_view(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = types.ModuleType("picamera2")
    module.Picamera2 = _FakePicamera2  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "picamera2", module)
    with Picamera2Camera(64, 48, 30) as camera:
        frame = camera.latest(0, 2.0)
    fake = _FakePicamera2.instances[-1]
    assert fake.config["main"] == {"size": (64, 48), "format": "BGR888"}
    assert fake.config["sensor"] == {"output_size": (2304, 1296), "bit_depth": 10}
    assert fake.config["controls"] == {"FrameRate": 30.0}
    assert fake.calls == ["start", "stop", "close"]
    assert frame is not None and frame.image_rgb.shape == (48, 64, 3)
    assert tuple(frame.image_rgb[0, 0]) == (0, 0, 200)  # handed on as it came: RGB


@pytest.mark.parametrize(
    ("width", "height", "fps", "expected"),
    [
        (1280, 720, 30.0, (2304, 1296)),  # not the faster, cropped 1536x864
        (640, 480, 30.0, (2304, 1296)),
        (1920, 1080, 30.0, (2304, 1296)),
        (4608, 2592, 10.0, (4608, 2592)),  # only the full-resolution mode is big enough
        (4608, 2592, 30.0, (2304, 1296)),  # ... but too slow: the fast one, scaled up
        (1280, 720, 100.0, (2304, 1296)),  # nothing uncropped is that fast: the fastest
    ],
)
def test_sensor_mode_keeps_the_whole_field_of_view(
    width: int, height: int, fps: float, expected: tuple[int, int]
) -> None:
    mode = full_view_sensor_mode(IMX708_MODES, width, height, fps)
    assert mode is not None and mode["size"] == expected
    assert full_view_sensor_mode([], width, height, fps) is None


def test_picamera2_without_a_camera_says_what_to_check(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_camera() -> None:
        raise IndexError("list index out of range")

    module = types.ModuleType("picamera2")
    module.Picamera2 = no_camera  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "picamera2", module)
    with pytest.raises(CameraError, match="ribbon cable.*rpicam-hello --list-cameras"):
        Picamera2Camera(64, 48, 30)


@pytest.mark.hardware
def test_picamera2_delivers_frames_on_a_pi() -> None:
    pytest.importorskip("picamera2")
    with open_camera("picamera2", 1280, 720, 30) as camera:
        first = camera.latest(0, 5.0)
        assert first is not None
        second = camera.latest(first.seq, 5.0)
    assert second is not None and second.seq > first.seq
    assert first.image_rgb.shape == (720, 1280, 3) and first.image_rgb.dtype == np.uint8
