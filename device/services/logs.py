"""Logging set-up: structured journald records under systemd, readable stderr elsewhere.

`configure_logging(level)` installs one handler on the root logger (calling it again
replaces that handler, so it never doubles):

* stderr connected to journald ($JOURNAL_STREAM names stderr's device:inode, see
  systemd.exec(5)) and systemd-python installed: a JournalHandler with
  SYSLOG_IDENTIFIER=mona-frame, so records carry fields you can query;
* stderr connected to journald without systemd-python: plain lines with a "<N>"
  syslog-priority prefix, which journald turns into the record's priority;
* otherwise (a terminal, a test, a pipe): "time LEVEL logger: message" on stderr.

The choice keys off $JOURNAL_STREAM rather than "does systemd-python import":
JournalHandler silently drops everything when no journald is listening.

Adding journal fields: pass them as `extra` with UPPER_CASE names, e.g.

    log.info("%.1f fps, %d faces", fps, faces, extra={"FPS": fps, "FACES": faces})

gives FPS=29.7 and FACES=1 on the record (`journalctl -u mona-frame -o verbose`,
or filter with `journalctl -u mona-frame FACES=0`). JournalHandler passes the
names through unchanged, and journald silently drops fields whose names are not
upper-case letters, digits and underscores (nor may they start with "_"); that is
also why the LogRecord's own lower-case attributes (msg, args, ...) do not show up.
Keep what a person needs in the message itself: the stderr format shows no fields.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

from device.errors import ConfigError
from device.services.config import LOG_LEVELS

SYSLOG_IDENTIFIER = "mona-frame"
JOURNAL_STREAM_ENV = "JOURNAL_STREAM"
STDERR_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# journald stamps time and identifier itself.
JOURNAL_FORMAT = "%(message)s"
JOURNAL_STREAM_FORMAT = "%(levelname)s %(name)s: %(message)s"
_HANDLER_NAME = "mona-frame"
_STDERR_FD = 2
# syslog(3) priorities: LOG_CRIT, LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG.
_SYSLOG_PRIORITIES = (
    (logging.CRITICAL, 2),
    (logging.ERROR, 3),
    (logging.WARNING, 4),
    (logging.INFO, 6),
)
_SYSLOG_DEBUG = 7


class SyslogPrefixFormatter(logging.Formatter):
    """Prefixes each record with "<N>", its syslog priority, for journald's stdout
    and stderr streams (systemd.exec(5), SyslogLevelPrefix=)."""

    def format(self, record: logging.LogRecord) -> str:
        priority = next(
            (p for level, p in _SYSLOG_PRIORITIES if record.levelno >= level), _SYSLOG_DEBUG
        )
        return f"<{priority}>{super().format(record)}"


def stderr_is_journal() -> bool:
    """True when $JOURNAL_STREAM names the device and inode of our stderr (fd 2).

    A child of a service inherits the variable even when its stderr goes elsewhere,
    hence the comparison that systemd.exec(5) recommends.
    """
    device, sep, inode = os.environ.get(JOURNAL_STREAM_ENV, "").partition(":")
    if not (sep and device.isdigit() and inode.isdigit()):
        return False
    try:
        stat = os.fstat(_STDERR_FD)
    except OSError:
        return False
    return (stat.st_dev, stat.st_ino) == (int(device), int(inode))


def _make_handler() -> logging.Handler:
    handler: logging.Handler
    if stderr_is_journal():
        try:
            # import_module: the repo's systemd/ folder (unit files) would otherwise
            # shadow systemd-python for mypy run from the repository root.
            journal = importlib.import_module("systemd.journal")
        except ImportError:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(SyslogPrefixFormatter(JOURNAL_STREAM_FORMAT))
            return handler
        handler = journal.JournalHandler(SYSLOG_IDENTIFIER=SYSLOG_IDENTIFIER)
        handler.setFormatter(logging.Formatter(JOURNAL_FORMAT))
        return handler
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(STDERR_FORMAT))
    return handler


def configure_logging(level: str) -> None:
    """Send the root logger's records at `level` and above to journald or stderr.

    level: one of LOG_LEVELS ("debug", "info", "warning", "error").
    """
    if level not in LOG_LEVELS:
        raise ConfigError(
            f"log level {level!r} is not known; expected one of {', '.join(LOG_LEVELS)}"
        )
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    handler = _make_handler()
    handler.set_name(_HANDLER_NAME)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))
