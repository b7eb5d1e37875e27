from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from device.errors import MonaFrameError
from device.services import notify
from device.services.notify import (
    NullNotifier,
    RecordingNotifier,
    SystemdNotifier,
    make_notifier,
    watchdog_interval_from_env,
)

# sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
_MAX_SOCKET_PATH = 107


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def notify_socket(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A bound AF_UNIX datagram socket, named by $NOTIFY_SOCKET like systemd does."""
    pytest.importorskip("systemd.daemon", reason="needs systemd-python")
    with contextlib.ExitStack() as stack:
        folder = tmp_path
        if len(str(folder / "notify.sock")) > _MAX_SOCKET_PATH:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mf-")))
        sock = stack.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
        sock.bind(str(folder / "notify.sock"))
        sock.settimeout(2.0)
        clean_env.setenv("NOTIFY_SOCKET", str(folder / "notify.sock"))
        yield sock


def receive(sock: socket.socket) -> str:
    return sock.recv(4096).decode("utf-8")


def test_systemd_notifier_sends_exact_payloads(notify_socket: socket.socket) -> None:
    notifier = SystemdNotifier()
    notifier.ready()
    assert receive(notify_socket) == "READY=1"
    notifier.status("29.8 fps, 1 face")
    assert receive(notify_socket) == "STATUS=29.8 fps, 1 face"
    notifier.watchdog()
    assert receive(notify_socket) == "WATCHDOG=1"
    notifier.stopping()
    assert receive(notify_socket) == "STOPPING=1"


def test_status_is_kept_on_one_line(notify_socket: socket.socket) -> None:
    SystemdNotifier().status("camera stalled\nrestarting")
    assert receive(notify_socket) == "STATUS=camera stalled restarting"


def test_socket_is_read_at_call_time(
    notify_socket: socket.socket, tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    notifier = SystemdNotifier()
    notifier.ready()
    assert receive(notify_socket) == "READY=1"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as other:
        name = f"mona-frame-test-{os.getpid()}"
        other.bind("\0" + name)  # Linux abstract namespace, "@name" in NOTIFY_SOCKET
        other.settimeout(2.0)
        clean_env.setenv("NOTIFY_SOCKET", "@" + name)
        notifier.watchdog()
        assert receive(other) == "WATCHDOG=1"


def test_failed_send_is_logged_not_raised(
    notify_socket: socket.socket,
    clean_env: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    notifier = SystemdNotifier()
    clean_env.setenv("NOTIFY_SOCKET", str(tmp_path / "gone.sock"))
    notifier.watchdog()
    notifier.watchdog()
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "WATCHDOG=1" in warnings[0].getMessage()


def test_relative_socket_path_is_refused(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("NOTIFY_SOCKET", "relative.sock")
    with pytest.raises(MonaFrameError, match="'relative.sock' is not a socket address"):
        SystemdNotifier()


def test_missing_systemd_python_says_what_to_install(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("NOTIFY_SOCKET", "/run/systemd/notify")

    def no_module(name: str) -> None:
        raise ImportError(f"No module named {name!r}")

    clean_env.setattr(notify.importlib, "import_module", no_module)
    with pytest.raises(MonaFrameError, match=r"pip install 'mona-frame\[systemd\]'"):
        SystemdNotifier()


def test_make_notifier_without_socket_is_null(clean_env: pytest.MonkeyPatch) -> None:
    assert isinstance(make_notifier(), NullNotifier)


def test_make_notifier_with_socket_is_systemd(notify_socket: socket.socket) -> None:
    assert isinstance(make_notifier(), SystemdNotifier)


def test_null_notifier_does_nothing(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("WATCHDOG_USEC", "10000000")
    notifier = NullNotifier()
    notifier.ready()
    notifier.status("x")
    notifier.watchdog()
    notifier.stopping()
    assert notifier.watchdog_interval_s() is None


def test_recording_notifier_keeps_payloads() -> None:
    notifier = RecordingNotifier(watchdog_interval_s=5.0)
    notifier.ready()
    notifier.status("a\nb")
    notifier.watchdog()
    notifier.stopping()
    assert notifier.messages == ["READY=1", "STATUS=a b", "WATCHDOG=1", "STOPPING=1"]
    assert notifier.watchdog_interval_s() == 5.0
    assert RecordingNotifier().watchdog_interval_s() is None


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        ("10000000", None, 5.0),
        ("10000000", "self", 5.0),
        ("10000000", "other", None),
        ("", None, None),
        ("0", None, None),
        ("ten", None, None),
        (None, None, None),
    ],
)
def test_watchdog_interval_from_env(
    usec: str | None, pid: str | None, expected: float | None
) -> None:
    env: dict[str, str] = {}
    if usec is not None:
        env["WATCHDOG_USEC"] = usec
    if pid == "self":
        env["WATCHDOG_PID"] = str(os.getpid())
    elif pid == "other":
        env["WATCHDOG_PID"] = str(os.getpid() + 1)
    assert watchdog_interval_from_env(env) == expected


def test_systemd_notifier_watchdog_interval(
    notify_socket: socket.socket, clean_env: pytest.MonkeyPatch
) -> None:
    notifier = SystemdNotifier()
    assert notifier.watchdog_interval_s() is None
    clean_env.setenv("WATCHDOG_USEC", "10000000")
    clean_env.setenv("WATCHDOG_PID", str(os.getpid()))
    assert notifier.watchdog_interval_s() == 5.0
