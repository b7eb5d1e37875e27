"""Telling systemd how the service is doing (sd_notify, see sd_notify(3)).

    Notifier            the interface the service loop talks to
    SystemdNotifier     sends to $NOTIFY_SOCKET through systemd-python
    NullNotifier        does nothing (not started by systemd, or Type= isn't notify)
    RecordingNotifier   keeps the messages, for tests and benches

`make_notifier()` picks SystemdNotifier when $NOTIFY_SOCKET is set, else NullNotifier.
The service sends ready() once the pack, detector, camera and display are open (it
does not wait for a first frame: a camera that then delivers none never earns a
watchdog ping), status() every [service] status_interval_s, watchdog() at
watchdog_interval_s() while frames keep coming, and stopping() on the way out.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Mapping
from typing import Protocol

from device.errors import MonaFrameError

NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET"
WATCHDOG_USEC_ENV = "WATCHDOG_USEC"
WATCHDOG_PID_ENV = "WATCHDOG_PID"
# sd_watchdog_enabled(3) advises pinging at half the interval systemd waits.
WATCHDOG_SAFETY_FACTOR = 0.5
_MICROSECONDS_PER_SECOND = 1_000_000
# sd_notify(3): an absolute path, '@' for Linux's abstract namespace, or AF_VSOCK.
_SOCKET_ADDRESS_PREFIXES = ("/", "@", "vsock:")
_INSTALL_HINT = (
    "pip install 'mona-frame[systemd]' (needs libsystemd-dev, pkg-config) "
    "or apt install python3-systemd"
)

log = logging.getLogger(__name__)


class Notifier(Protocol):
    """What the service tells its supervisor."""

    def ready(self) -> None:
        """Start-up is done (READY=1); systemd now counts the service as started."""

    def status(self, text: str) -> None:
        """A one-line status shown by `systemctl status` (STATUS=...)."""

    def watchdog(self) -> None:
        """The service is alive (WATCHDOG=1)."""

    def stopping(self) -> None:
        """The service is shutting down (STOPPING=1)."""

    def watchdog_interval_s(self) -> float | None:
        """Seconds between watchdog() calls, or None when no watchdog is set."""


def watchdog_interval_from_env(environ: Mapping[str, str] | None = None) -> float | None:
    """Half of $WATCHDOG_USEC in seconds, when it is set for this process.

    None when WATCHDOG_USEC is unset, not a positive integer, or WATCHDOG_PID names
    another process (the variables were inherited from a parent).
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    usec_text = env.get(WATCHDOG_USEC_ENV, "")
    pid_text = env.get(WATCHDOG_PID_ENV, "")
    if pid_text and pid_text != str(os.getpid()):
        return None
    if not usec_text.isdigit() or int(usec_text) == 0:
        return None
    return int(usec_text) / _MICROSECONDS_PER_SECOND * WATCHDOG_SAFETY_FACTOR


def _one_line(text: str) -> str:
    # Each line of an sd_notify datagram is one VARIABLE=value assignment.
    return " ".join(text.splitlines())


class SystemdNotifier:
    """Sends notifications to the socket named by $NOTIFY_SOCKET via systemd-python.

    A failed send is logged once (and again after the next success), never raised:
    a frame must not die because its supervisor's socket hiccuped; a lost watchdog
    ping ends in a restart by systemd anyway.
    """

    def __init__(self) -> None:
        socket_path = os.environ.get(NOTIFY_SOCKET_ENV, "")
        if not socket_path.startswith(_SOCKET_ADDRESS_PREFIXES):
            raise MonaFrameError(
                f"${NOTIFY_SOCKET_ENV} = {socket_path!r} is not a socket address; "
                "expected an absolute path, an abstract name starting with '@' "
                "or 'vsock:CID:PORT'"
            )
        try:
            # import_module: the repo's systemd/ folder (unit files) would otherwise
            # shadow systemd-python for mypy run from the repository root.
            daemon = importlib.import_module("systemd.daemon")
        except ImportError as exc:
            raise MonaFrameError(
                f"started by systemd (${NOTIFY_SOCKET_ENV} is set) but systemd-python "
                f"is missing: {_INSTALL_HINT}"
            ) from exc
        self._send: Callable[[str], bool] = daemon.notify
        self._failing = False

    def ready(self) -> None:
        self._notify("READY=1")

    def status(self, text: str) -> None:
        self._notify(f"STATUS={_one_line(text)}")

    def watchdog(self) -> None:
        self._notify("WATCHDOG=1")

    def stopping(self) -> None:
        self._notify("STOPPING=1")

    def watchdog_interval_s(self) -> float | None:
        return watchdog_interval_from_env()

    def _notify(self, message: str) -> None:
        try:
            self._send(message)
        except OSError as exc:
            if not self._failing:
                log.warning("cannot notify systemd of %r: %s", message, exc)
            self._failing = True
        else:
            self._failing = False


class NullNotifier:
    """Used when no supervisor listens: every call does nothing."""

    def ready(self) -> None:
        pass

    def status(self, text: str) -> None:
        pass

    def watchdog(self) -> None:
        pass

    def stopping(self) -> None:
        pass

    def watchdog_interval_s(self) -> float | None:
        return None


class RecordingNotifier:
    """Keeps every message as the sd_notify payload it would send, e.g. "READY=1"."""

    def __init__(self, watchdog_interval_s: float | None = None) -> None:
        self.messages: list[str] = []
        self._watchdog_interval_s = watchdog_interval_s

    def ready(self) -> None:
        self.messages.append("READY=1")

    def status(self, text: str) -> None:
        self.messages.append(f"STATUS={_one_line(text)}")

    def watchdog(self) -> None:
        self.messages.append("WATCHDOG=1")

    def stopping(self) -> None:
        self.messages.append("STOPPING=1")

    def watchdog_interval_s(self) -> float | None:
        return self._watchdog_interval_s


def make_notifier() -> Notifier:
    """SystemdNotifier when $NOTIFY_SOCKET is set, else NullNotifier."""
    if os.environ.get(NOTIFY_SOCKET_ENV):
        return SystemdNotifier()
    return NullNotifier()
