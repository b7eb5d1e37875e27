"""Giving start-up's scratch memory back to the system.

Loading a pack and scaling it to the screen allocates and frees tens of MB. glibc keeps
freed heap pages for reuse, so without a trim they stay in the service's resident size for
as long as it runs (its whole life on the wall).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc


def return_free_memory() -> bool:
    """Collect garbage and ask the C library to return free heap pages; True if it could.

    Only glibc has malloc_trim(3); elsewhere (musl, macOS) this only collects garbage.
    """
    gc.collect()
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return False
    trim(0)
    return True
