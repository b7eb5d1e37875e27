"""Helpers shared by the test modules, imported as `tests.helpers` (pyproject: pythonpath)."""

from __future__ import annotations

from typing import Any


def one_error_line(capsys: Any, prog: str) -> str:
    """The single `PROG: error: …` line on stderr; fails on a traceback or a second error."""
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith(f"{prog}: error:")]
    assert len(errors) == 1, err
    assert "Traceback" not in "\n".join(err)
    return errors[0]
