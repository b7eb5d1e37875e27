"""Checkpoint format: our networks have exactly the official keys; loading is strict and a
wrong file fails with a one-line message that names the problem."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from build_frames.errors import BuildError, CheckpointError  # noqa: E402
from build_frames.fomm.checkpoint import load_fomm, resolve_device  # noqa: E402
from build_frames.fomm.generator import OcclusionAwareGenerator  # noqa: E402
from build_frames.fomm.keypoint_detector import KeypointDetector  # noqa: E402


def _layout(module):
    return {
        k: (tuple(v.shape), str(v.dtype).removeprefix("torch."))
        for k, v in module.state_dict().items()
    }


@pytest.mark.parametrize(
    ("entry", "model"), [("kp_detector", KeypointDetector), ("generator", OcclusionAwareGenerator)]
)
def test_networks_have_exactly_the_official_keys_shapes_and_dtypes(key_spec, entry, model):
    layout = _layout(model())
    assert list(layout) == list(key_spec[entry])  # same keys, same order
    assert layout == key_spec[entry]


def test_key_list_totals_match_its_header(key_spec):
    # The header line: 75 kp_detector entries with 14,215,368 parameters, 196 generator
    # entries with 45,575,391 (buffers excluded).
    kp, gen = KeypointDetector(), OcclusionAwareGenerator()
    assert (len(key_spec["kp_detector"]), len(key_spec["generator"])) == (75, 196)
    assert sum(p.numel() for p in kp.parameters()) == 14_215_368
    assert sum(p.numel() for p in gen.parameters()) == 45_575_391


def test_synthetic_official_checkpoint_loads_strictly_with_its_values(
    official_checkpoint, official_states
):
    kp_detector, generator = load_fomm(official_checkpoint, "cpu")
    for model, entry in ((kp_detector, "kp_detector"), (generator, "generator")):
        assert not model.training
        loaded = model.state_dict()
        for key, value in official_states[entry].items():
            assert torch.equal(loaded[key], value), key


def _checkpoint_with(official_states, entry, edit):
    states = {name: dict(state) for name, state in official_states.items()}
    edit(states[entry])
    return states


def _one_line(exc_info) -> str:
    message = str(exc_info.value)
    assert "\n" not in message
    return message


def test_altered_shape_names_the_key_and_both_shapes(tmp_path, official_states, save_checkpoint):
    key = "bottleneck.r3.conv1.weight"
    states = _checkpoint_with(
        official_states, "generator", lambda s: s.__setitem__(key, torch.zeros(256, 256, 5, 5))
    )
    path = save_checkpoint(states, tmp_path / "altered.pth.tar")
    with pytest.raises(CheckpointError) as exc_info:
        load_fomm(path, "cpu")
    message = _one_line(exc_info)
    assert repr(key) in message and "'generator'" in message
    assert "(256, 256, 5, 5)" in message and "(256, 256, 3, 3)" in message


def test_missing_key_is_named(tmp_path, official_states, save_checkpoint):
    key = "predictor.decoder.up_blocks.2.norm.running_var"
    states = _checkpoint_with(official_states, "kp_detector", lambda s: s.pop(key))
    path = save_checkpoint(states, tmp_path / "missing.pth.tar")
    with pytest.raises(CheckpointError) as exc_info:
        load_fomm(path, "cpu")
    message = _one_line(exc_info)
    assert repr(key) in message and "'kp_detector'" in message and "lacks" in message


def test_unexpected_key_is_named(tmp_path, official_states, save_checkpoint):
    states = _checkpoint_with(
        official_states, "kp_detector", lambda s: s.__setitem__("extra.weight", torch.zeros(1))
    )
    path = save_checkpoint(states, tmp_path / "extra.pth.tar")
    with pytest.raises(CheckpointError, match="unexpected keys 'extra.weight'"):
        load_fomm(path, "cpu")


def _assert_says_what_file_is_needed(message: str) -> None:
    assert "vox-cpk.pth.tar" in message
    assert "first-order-model" in message and "Siarohin" in message
    assert "http" not in message  # says where, fetches nothing


def test_missing_file_says_which_checkpoint_is_needed_and_where(tmp_path):
    with pytest.raises(CheckpointError) as exc_info:
        load_fomm(tmp_path / "nope.pth.tar", "cpu")
    message = _one_line(exc_info)
    assert "no such file" in message
    _assert_says_what_file_is_needed(message)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "not a torch checkpoint"),
        (b"hello, I am a text file\n", "not a torch checkpoint"),
        (b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8, "not a torch checkpoint"),
        (pickle.dumps(print, protocol=2), "not a torch checkpoint"),  # needs code to load
    ],
)
def test_unreadable_file_is_a_one_line_checkpoint_error(tmp_path, content, expected):
    path = tmp_path / "bad.pth.tar"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as exc_info:
        load_fomm(path, "cpu")
    message = _one_line(exc_info)
    assert expected in message
    _assert_says_what_file_is_needed(message)


def test_a_plain_pickle_gives_only_the_error_line_on_stderr(tmp_path):
    """torch.load warns about the pickle protocol before refusing it; that warning must
    not show before the one-line error (run in a fresh interpreter: default filters)."""
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps({"generator": [1, 2, 3]}))  # the default protocol, not 2
    code = (
        "import sys\n"
        "from build_frames.errors import BuildError\n"
        "from build_frames.fomm.checkpoint import load_fomm\n"
        "try:\n"
        f"    load_fomm({str(path)!r}, 'cpu')\n"
        "except BuildError as exc:\n"
        "    print(f'build-frames: error: {exc}', file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "default", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("build-frames: error: ") and "not a torch checkpoint" in lines[0]


@pytest.mark.parametrize(
    ("checkpoint", "expected"),
    [
        ([1, 2, 3], "holds a list"),
        ({"generator": {}}, "no 'kp_detector' state dict"),
        ({"state_dict": {}}, "no 'kp_detector' / 'generator' state dict"),
    ],
)
def test_other_torch_files_are_not_fomm_checkpoints(
    tmp_path, checkpoint, expected, save_checkpoint
):
    path = save_checkpoint(checkpoint, tmp_path / "other.pth")
    with pytest.raises(CheckpointError) as exc_info:
        load_fomm(path, "cpu")
    message = _one_line(exc_info)
    assert expected in message
    _assert_says_what_file_is_needed(message)


def test_device_choice():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(BuildError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(BuildError, match="no CUDA GPU"):
            resolve_device("cuda")
