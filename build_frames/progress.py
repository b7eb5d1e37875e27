"""Progress bars (tqdm, on stderr) for the steps that take more than a moment."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def bar(total: int, desc: str, enabled: bool = True, unit: str = "frame") -> Any:
    """A tqdm bar on stderr (a context manager with .update()); silent when not enabled."""
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
        leave=True,
    )


def each(
    items: Iterable[T], total: int, desc: str, enabled: bool = True, unit: str = "frame"
) -> Iterator[T]:
    """`items`, ticking a bar as each is consumed."""
    with bar(total, desc, enabled, unit) as progress:
        for item in items:
            yield item
            progress.update(1)
