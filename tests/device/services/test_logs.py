from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest

from device.errors import ConfigError
from device.services import logs
from device.services.config import LOG_LEVELS
from device.services.logs import configure_logging, stderr_is_journal


@pytest.fixture(autouse=True)
def restore_root_logger(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def ours() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if h.get_name() == "mona-frame"]


def journal_stream_of_stderr() -> str:
    stat = os.fstat(2)
    return f"{stat.st_dev}:{stat.st_ino}"


def test_without_journal_stream_logs_readable_lines_to_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("info")
    (handler,) = ours()
    assert type(handler) is logging.StreamHandler
    logging.getLogger("mona_frame.test").info("hello %s", "frame")
    err = capsys.readouterr().err
    assert err.rstrip().endswith("INFO mona_frame.test: hello frame")


def test_level_filters(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("warning")
    log = logging.getLogger("mona_frame.test")
    log.info("quiet")
    log.warning("loud")
    err = capsys.readouterr().err
    assert "quiet" not in err
    assert "loud" in err
    assert logging.getLogger().level == logging.WARNING


def test_every_config_level_is_accepted() -> None:
    for level in LOG_LEVELS:
        configure_logging(level)
        assert logging.getLogger().level == getattr(logging, level.upper())


def test_unknown_level_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'verbose'.*debug, info, warning, error"):
        configure_logging("verbose")


def test_calling_twice_keeps_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info")
    configure_logging("debug")
    assert len(ours()) == 1
    logging.getLogger("mona_frame.test").info("once")
    assert capsys.readouterr().err.count("once") == 1


def test_other_handlers_are_left_alone() -> None:
    other = logging.NullHandler()
    logging.getLogger().addHandler(other)
    configure_logging("info")
    configure_logging("info")
    assert other in logging.getLogger().handlers


def test_stderr_is_journal_compares_device_and_inode(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not stderr_is_journal()
    monkeypatch.setenv("JOURNAL_STREAM", journal_stream_of_stderr())
    assert stderr_is_journal()
    monkeypatch.setenv("JOURNAL_STREAM", "1:2")
    assert not stderr_is_journal()
    monkeypatch.setenv("JOURNAL_STREAM", "garbage")
    assert not stderr_is_journal()


def test_with_journal_stream_uses_journal_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    journal = pytest.importorskip("systemd.journal", reason="needs systemd-python")
    monkeypatch.setenv("JOURNAL_STREAM", journal_stream_of_stderr())
    configure_logging("info")
    (handler,) = ours()
    assert isinstance(handler, journal.JournalHandler)


def test_journal_records_carry_identifier_priority_and_extra_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("systemd.journal", reason="needs systemd-python")
    monkeypatch.setenv("JOURNAL_STREAM", journal_stream_of_stderr())
    configure_logging("info")
    (handler,) = ours()
    sent: list[tuple[str, dict[str, Any]]] = []

    def send(message: str, /, **fields: Any) -> None:  # journal.send(MESSAGE, **fields)
        sent.append((message, fields))

    handler.send = send  # type: ignore[attr-defined]
    logging.getLogger("mona_frame.test").warning("%d fps", 30, extra={"FPS": 29.5, "FACES": 1})
    ((message, fields),) = sent
    assert message == "30 fps"
    assert fields["SYSLOG_IDENTIFIER"] == "mona-frame"
    assert fields["PRIORITY"] == "4"
    assert fields["LOGGER"] == "mona_frame.test"
    assert (fields["FPS"], fields["FACES"]) == (29.5, 1)


def test_journal_stream_without_systemd_python_prefixes_priority(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", journal_stream_of_stderr())

    def no_module(name: str) -> None:
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(logs.importlib, "import_module", no_module)
    configure_logging("debug")
    log = logging.getLogger("mona_frame.test")
    log.error("bad")
    log.debug("detail")
    assert capsys.readouterr().err.splitlines() == [
        "<3>ERROR mona_frame.test: bad",
        "<7>DEBUG mona_frame.test: detail",
    ]
