"""The service loop against a real NOTIFY_SOCKET: READY, STATUS, WATCHDOG only while frames flow."""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time

import numpy as np
import pytest

from device.capture import LatestFrameGrabber
from device.detector import FakeDetector
from device.faces import Face
from device.pack import PatchRect, load_pack, write_pack
from device.services.config import Config
from device.services.notify import RecordingNotifier, SystemdNotifier
from device.services.service import FrameService

pytest.importorskip("systemd.daemon")

YAW = (-20.0, -10.0, 0.0, 10.0, 20.0)
FRAME_PERIOD_S = 1 / 50


class StallableCamera:
    """Delivers synthetic frames at 50 fps until `stall` is set, then none (a hung camera)."""

    def __init__(self) -> None:
        self.stall = threading.Event()
        self.closed = threading.Event()
        self._grabber = LatestFrameGrabber(self._grab, "test camera")

    def _grab(self) -> np.ndarray | None:
        time.sleep(FRAME_PERIOD_S)
        while self.stall.is_set():
            if self.closed.wait(0.05):
                return None
        return np.zeros((120, 160, 3), np.uint8)

    @property
    def ended(self) -> bool:
        return False  # a live camera never ends; a stalled one just stops delivering

    def start(self) -> None:
        self._grabber.start()

    def latest(self, after_seq, timeout_s):
        return self._grabber.latest(after_seq, timeout_s)

    def close(self) -> None:
        self.closed.set()
        self._grabber.close()


class RecordingDisplay:
    def __init__(self) -> None:
        self.shown: list[int] = []
        self.blank_calls: list[bool] = []

    def show(self, frame_index: int) -> None:
        if not self.shown or self.shown[-1] != frame_index:
            self.shown.append(frame_index)

    def set_blank(self, blank: bool) -> None:
        self.blank_calls.append(blank)

    def poll_quit(self) -> bool:
        return False

    def close(self) -> None:
        pass


def a_face(cx: float = 40.0) -> Face:
    eyes = ((cx - 8, 50.0), (cx + 8, 50.0))
    return Face((cx - 20, 40.0, cx + 20, 80.0), eyes + ((cx, 60.0),) * 4, 0.9)


@pytest.fixture
def pack(tmp_path):
    base = np.zeros((40, 40, 3), np.uint8)
    patches = [np.full((10, 10, 3), i, np.uint8) for i in range(len(YAW))]
    return load_pack(write_pack(tmp_path / "pack", base, PatchRect(5, 5, 10, 10), patches, YAW))


def config(**service) -> Config:
    c = Config()
    return dataclasses.replace(c, service=dataclasses.replace(c.service, **service))


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.05)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # 0.2 s: the service pings every 0.1 s
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    yield sock
    sock.close()


def drain(sock: socket.socket, seconds: float) -> list[tuple[float, str]]:
    got, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            got.append((time.monotonic(), sock.recv(4096).decode()))
        except TimeoutError:
            pass
    return got


def run_and_stall(
    service: FrameService, camera: StallableCamera, sock: socket.socket, stalled_s: float
) -> tuple[list[tuple[float, str]], float, list[tuple[float, str]], list[tuple[float, str]]]:
    """Run the service in a thread: 1 s of frames, `stalled_s` of a hung camera, 0.6 s of
    frames again. Returns what arrived on the socket in each phase and when the stall began."""
    stop = threading.Event()
    camera.start()
    worker = threading.Thread(target=service.run, args=(stop,))
    worker.start()
    try:
        flowing = drain(sock, 1.0)
        camera.stall.set()
        stalled_at = time.monotonic()
        stalled = drain(sock, stalled_s)
        camera.stall.clear()
        recovered = drain(sock, 0.6)
    finally:
        stop.set()
        worker.join(5)
        camera.close()
    assert not worker.is_alive()
    return flowing, stalled_at, stalled, recovered


def test_ready_status_and_watchdog_stop_when_the_camera_stalls(pack, notify_socket):
    camera = StallableCamera()
    detector = FakeDetector(lambda image: [a_face()])
    display = RecordingDisplay()
    service = FrameService(
        config(status_interval_s=0.3, stall_timeout_s=0.3),
        pack,
        camera,
        detector,
        display,
        SystemdNotifier(),
    )
    flowing, stalled_at, stalled, recovered = run_and_stall(service, camera, notify_socket, 1.2)

    messages = [m for _, m in flowing]
    assert messages[0] == "READY=1"
    assert messages.count("WATCHDOG=1") >= 5  # every 0.1 s over ~1 s
    status = [m for m in messages if m.startswith("STATUS=")]
    assert status and "fps" in status[0] and "1 face(s)" in status[0]
    assert "tracking" in status[0]

    # Frames in flight when the stall began may still earn a ping; after that, none.
    late_pings = [t for t, m in stalled if m == "WATCHDOG=1" and t > stalled_at + 0.15]
    assert late_pings == []
    assert any(m.startswith("STATUS=camera stalled") for _, m in stalled)
    assert "WATCHDOG=1" in [m for _, m in recovered]


def test_the_portrait_follows_the_face_and_blanks_when_nobody_is_there(pack):
    faces = [[a_face(150.0)]] * 20  # image right = the frame's left = the lowest yaw
    camera = StallableCamera()
    detector = FakeDetector(faces)
    display = RecordingDisplay()
    c = config(status_interval_s=10.0)
    c = dataclasses.replace(
        c,
        display=dataclasses.replace(c.display, blank_after_s=1.2),
        gaze=dataclasses.replace(
            c.gaze, lost_after_s=0.1, return_to_centre_s=0.2, return_speed_deg_s=100.0
        ),
        detector=dataclasses.replace(c.detector, idle_rate_hz=20.0),
    )
    notifier = RecordingNotifier()
    service = FrameService(c, pack, camera, detector, display, notifier)
    stop = threading.Event()
    camera.start()
    timer = threading.Timer(2.5, stop.set)
    timer.start()
    service.run(stop)
    camera.close()
    assert display.shown[0] == 2  # the centre frame at start
    assert 0 in display.shown  # looked at the viewer on the frame's left
    assert display.shown[-1] == 2  # and drifted back to the centre after they left
    assert display.blank_calls == [True]
    assert notifier.messages[0] == "READY=1"


def test_watchdog_keeps_pinging_in_an_empty_room_and_stops_on_a_stall(pack, notify_socket):
    """Nobody in view and a search due only every 5 s: the frames still flow, so the
    watchdog is still fed at its interval (0.1 s); a stalled camera still stops it."""
    camera = StallableCamera()
    detector = FakeDetector(lambda image: [])
    c = config(status_interval_s=10.0, stall_timeout_s=0.3)
    c = dataclasses.replace(c, detector=dataclasses.replace(c.detector, idle_rate_hz=0.2))
    service = FrameService(c, pack, camera, detector, RecordingDisplay(), SystemdNotifier())
    flowing, stalled_at, stalled, recovered = run_and_stall(service, camera, notify_socket, 1.0)

    assert len(detector.frames) <= 1  # one search at the start, the next is 5 s away
    pings = [t for t, m in flowing if m == "WATCHDOG=1"]
    assert len(pings) >= 7, flowing  # every 0.1 s over ~1 s
    assert max(b - a for a, b in zip(pings, pings[1:], strict=False)) < 0.2
    late_pings = [t for t, m in stalled if m == "WATCHDOG=1" and t > stalled_at + 0.15]
    assert late_pings == []
    assert any(m.startswith("STATUS=camera stalled") for _, m in stalled)
    assert "WATCHDOG=1" in [m for _, m in recovered]


def test_the_drift_back_to_the_centre_is_one_step_at_a_time(pack):
    """Viewer gone, searches 5 s apart: the loop still wakes at ~10 Hz while the
    portrait drifts, so it turns one gaze step at a time, not in jumps at each search."""
    faces = [[a_face(150.0)]] * 3  # then nobody: the frame's left, index 0
    camera = StallableCamera()
    display = RecordingDisplay()
    c = config(status_interval_s=10.0)
    c = dataclasses.replace(
        c,
        gaze=dataclasses.replace(
            c.gaze, lost_after_s=0.05, return_to_centre_s=0.1, return_speed_deg_s=25.0
        ),
        detector=dataclasses.replace(c.detector, idle_rate_hz=0.2),
    )
    service = FrameService(c, pack, camera, FakeDetector(faces), display, RecordingNotifier())
    stop = threading.Event()
    camera.start()
    timer = threading.Timer(2.5, stop.set)
    timer.start()
    service.run(stop)
    camera.close()
    assert display.shown[:2] == [2, 0]  # the centre, then the viewer on the frame's left
    assert display.shown[-1] == 2  # back at the centre well before the next search
    assert display.shown[1:] == [0, 1, 2], display.shown  # one step at a time
