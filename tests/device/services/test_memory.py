from __future__ import annotations

import numpy as np

from device.pack import PatchRect, load_pack, write_pack
from device.services.memory import return_free_memory


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_freed_heap_memory_goes_back_to_the_system():
    # Mid-sized arrays (as a decoded pack's patches are) live on the heap; freeing every
    # other one leaves holes that glibc keeps until it is asked to trim.
    blocks = [np.ones(100_000, np.uint8) for _ in range(600)]  # 60 MB
    kept = blocks[1::2]
    del blocks
    before = rss_kb()
    assert return_free_memory()
    assert rss_kb() < before - 20_000
    assert len(kept) == 300


def test_without_pixels_keeps_shapes_and_table(tmp_path):
    base = np.full((30, 40, 3), 7, np.uint8)
    patches = [np.full((10, 10, 3), i, np.uint8) for i in range(3)]
    pack = load_pack(
        write_pack(tmp_path / "p", base, PatchRect(5, 5, 10, 10), patches, (-1.0, 0.0, 1.0))
    )
    light = pack.without_pixels()
    assert light.base_size == (40, 30) and light.n_frames == 3 and light.yaw_deg == pack.yaw_deg
    assert light.patches[2].shape == (10, 10, 3) and light.patches[2].max() == 0
    assert light.base.strides[:2] == (0, 0)  # no memory behind it
