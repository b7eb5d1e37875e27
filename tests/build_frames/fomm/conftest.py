"""Shared fixtures: the official key list (copied into data/, a fact about the file format) and
synthetic checkpoints with exactly those keys, shapes and dtypes, filled with random values."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

KEY_LIST = Path(__file__).parent / "data" / "vox256_state_dict_keys.txt"
ENTRIES = ("kp_detector", "generator")
DTYPES = {"float32": torch.float32, "int64": torch.int64}

KeySpec = dict[str, dict[str, tuple[tuple[int, ...], str]]]


def read_key_list(path: Path = KEY_LIST) -> KeySpec:
    """{"kp_detector": {key: (shape, dtype)}, "generator": {...}}, in file order."""
    spec: KeySpec = {}
    section: dict[str, tuple[tuple[int, ...], str]] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = spec.setdefault(line.split()[1].rstrip(":"), {})
        elif line and not line.startswith("#"):
            assert section is not None, line
            key, shape, dtype = line.split("\t")
            dims = shape.strip("()").replace(" ", "")
            section[key] = (tuple(int(d) for d in dims.split(",") if d), dtype)
    return spec


def random_state_dict(spec: dict[str, tuple[tuple[int, ...], str]], seed: int) -> dict:
    """Random tensors of the given shapes: weights ~ N(0, 0.05²), BN variances in [0.5, 1.5],
    batch counters an integer."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, (shape, dtype) in spec.items():
        if dtype == "int64":
            state[key] = torch.tensor(1000, dtype=torch.int64).reshape(shape)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=gen) + 0.5
        else:
            state[key] = torch.randn(shape, generator=gen) * 0.05
    return state


def save_old_format(checkpoint: dict, path: Path) -> Path:
    """torch.save in the pre-1.6 (non-zip) pickle format, as vox-cpk.pth.tar is."""
    torch.save(checkpoint, path, _use_new_zipfile_serialization=False)
    return path


@pytest.fixture(scope="session")
def save_checkpoint():
    """save_old_format, for tests that write their own checkpoints."""
    return save_old_format


@pytest.fixture(scope="session")
def key_spec() -> KeySpec:
    return read_key_list()


@pytest.fixture(scope="session")
def official_states(key_spec: KeySpec) -> dict[str, dict]:
    """Random state dicts with exactly the official keys and shapes."""
    return {entry: random_state_dict(key_spec[entry], seed) for seed, entry in enumerate(ENTRIES)}


@pytest.fixture(scope="session")
def official_checkpoint(tmp_path_factory: pytest.TempPathFactory, official_states) -> Path:
    """A synthetic vox-cpk.pth.tar (~240 MB) with the extra entries the real one carries."""
    checkpoint = dict(official_states)
    checkpoint["epoch"] = 99
    checkpoint["optimizer_generator"] = {"state": {}, "param_groups": [{"lr": 2e-4}]}
    path = tmp_path_factory.mktemp("ckpt") / "vox-cpk.pth.tar"
    return save_old_format(checkpoint, path)
