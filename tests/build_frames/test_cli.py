"""`build-frames` in-process: packs from real photos, and one clear line for every bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from build_frames import __version__
from build_frames.cli import EX_FAILURE, EX_USAGE, main
from device.pack import load_pack
from tests.helpers import one_error_line

PROG = "build-frames"

FAST = ["--frames", "5", "--no-progress"]


@pytest.fixture(scope="module")
def hopper() -> np.ndarray:
    pytest.importorskip("matplotlib")
    from device.demo import face_photo

    return face_photo("grace_hopper")


def save(path, rgb: np.ndarray, **kwargs) -> str:
    Image.fromarray(rgb).save(path, **kwargs)
    return str(path)


def test_eyes_writes_a_pack_the_device_loads(tmp_path, capsys, bf_models):
    pytest.importorskip("matplotlib")
    out = tmp_path / "pack"
    assert main(["eyes", "builtin:grace_hopper", "--out", str(out), *FAST]) == 0
    summary = capsys.readouterr().out.strip()
    assert summary.startswith(f"wrote {out}: 5 frames (5 yaw x 1 pitch), patch ")
    assert summary.endswith("s/frame)")
    pack = load_pack(out)
    assert pack.yaw_deg == (-30.0, -15.0, 0.0, 15.0, 30.0) and pack.n_frames == 5
    prov = pack.provenance
    assert prov["method"] == "eyes" and prov["tool_version"] == __version__
    assert len(prov["input_sha256"]) == 64 and prov["parameters"]["frames"] == 5
    assert prov["parameters"]["alpha"]["shape"] == "ellipse"
    assert set(prov["models_sha256"]) == {
        "short_range",
        "full_range",
        "face_landmark",
        "iris_landmark",
    }
    assert -10 < prov["analysis"]["original_yaw_deg"] < 10
    assert main(["eyes", "builtin:grace_hopper", "--out", str(out), *FAST]) == EX_FAILURE
    assert "already exists (use --force to overwrite)" in one_error_line(capsys, PROG)
    assert (
        main(
            [
                "eyes",
                "builtin:grace_hopper",
                "--out",
                str(out),
                "--force",
                *FAST,
                "--pitch-range",
                "-10",
                "10",
                "--pitch-rows",
                "2",
                "--alpha-shape",
                "square",
                "--alpha-j",
                "12",
                "--alpha-k",
                "0.6",
                "--alpha-centre",
                "260",
                "250",
            ]
        )
        == 0
    )
    pack = load_pack(out)
    assert pack.pitch_deg == (-10.0, 10.0) and pack.n_frames == 10
    alpha = pack.provenance["parameters"]["alpha"]
    assert (alpha["shape"], alpha["j"], alpha["k"], alpha["centre_px"]) == (
        "square",
        12,
        0.6,
        [260, 250],
    )


def test_head_turn_pack(tmp_path, capsys, bf_models):
    pytest.importorskip("matplotlib")
    out = tmp_path / "pack"
    assert main(["eyes", "builtin:grace_hopper", "--out", str(out), "--head-turn", "3", *FAST]) == 0
    pack = load_pack(out)
    assert pack.patch.width > 200  # the whole head, not just the eyes
    assert pack.provenance["parameters"]["head_turn_deg"] == 3


@pytest.mark.parametrize("kind", ["exif", "grey", "rgba", "16bit", "int32"])
def test_awkward_but_valid_inputs_build(tmp_path, capsys, hopper, kind, bf_models):
    if kind == "exif":
        image = Image.fromarray(np.ascontiguousarray(np.rot90(hopper, k=1)))  # stored sideways
        exif = image.getexif()
        exif[0x0112] = 6  # "rotate 90° clockwise to view": upright again
        path = tmp_path / "p.jpg"
        image.save(path, exif=exif, quality=95)
        note = "EXIF"
    elif kind == "grey":
        path = save(tmp_path / "p.png", cv2.cvtColor(hopper, cv2.COLOR_RGB2GRAY))
        note = "greyscale"
    elif kind == "rgba":
        path = save(
            tmp_path / "p.png", np.dstack([hopper, np.full(hopper.shape[:2], 255, np.uint8)])
        )
        note = "transparency"
    elif kind == "16bit":
        path = tmp_path / "p.png"
        cv2.imwrite(str(path), cv2.cvtColor(hopper, cv2.COLOR_RGB2BGR).astype(np.uint16) * 257)
        note = "16-bit"
    else:  # a 32-bit greyscale TIFF (Pillow mode "I") holding 0..255 values
        path = tmp_path / "p.tif"
        grey = cv2.cvtColor(hopper, cv2.COLOR_RGB2GRAY).astype(np.int32)
        Image.fromarray(grey, mode="I").save(path)
        note = "I with 8-bit values"
    assert main(["eyes", str(path), "--out", str(tmp_path / "pack"), *FAST]) == 0
    captured = capsys.readouterr()
    assert note in captured.err and "Traceback" not in captured.err
    assert load_pack(tmp_path / "pack").base_size == (512, 600)


def test_not_an_image(tmp_path, capsys):
    (tmp_path / "p.png").write_text("hello")
    assert main(["eyes", str(tmp_path / "p.png"), "--out", str(tmp_path / "o")]) == EX_FAILURE
    assert "p.png: not an image" in one_error_line(capsys, PROG)


def test_unreadable(tmp_path, capsys):
    (tmp_path / "f").write_bytes(b"x")
    assert main(["eyes", str(tmp_path / "f" / "p.png"), "--out", str(tmp_path / "o")]) == 1
    assert "p.png: cannot read (Not a directory)" in one_error_line(capsys, PROG)
    assert main(["eyes", str(tmp_path / "missing.png"), "--out", str(tmp_path / "o")]) == 1
    assert "missing.png: no such file" in one_error_line(capsys, PROG)


def test_truncated(tmp_path, capsys, hopper):
    full = save(tmp_path / "full.jpg", hopper)
    cut = tmp_path / "cut.jpg"
    data = open(full, "rb").read()
    cut.write_bytes(data[: len(data) // 3])
    assert main(["eyes", str(cut), "--out", str(tmp_path / "o")]) == EX_FAILURE
    assert "cut.jpg: damaged or truncated image file" in one_error_line(capsys, PROG)
    assert not (tmp_path / "o").exists()


def test_image_too_small(tmp_path, capsys):
    path = save(tmp_path / "tiny.png", np.zeros((40, 50, 3), np.uint8))
    assert main(["eyes", path, "--out", str(tmp_path / "o")]) == EX_FAILURE
    message = one_error_line(capsys, PROG)
    assert "50x40 px, too small; it needs at least 64 px on each side" in message


def test_face_too_small_says_how_large(tmp_path, capsys, hopper, bf_models):
    path = save(
        tmp_path / "small.png",
        cv2.resize(hopper, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA),
    )
    assert main(["eyes", path, "--out", str(tmp_path / "o"), "--no-progress"]) == EX_FAILURE
    line = one_error_line(capsys, PROG)
    assert "face too small for the eyes to be moved" in line
    assert "radius of at least 3 px" in line and "px wide or more" in line


def test_no_face(tmp_path, capsys, bf_models):
    ramp = np.tile(np.linspace(0, 255, 300, dtype=np.uint8)[None, :, None], (300, 1, 3))
    path = save(tmp_path / "wall.png", ramp)
    assert main(["eyes", path, "--out", str(tmp_path / "o"), "--no-progress"]) == EX_FAILURE
    assert "no face found in the portrait" in one_error_line(capsys, PROG)


def test_several_faces_takes_the_largest_and_face_picks(tmp_path, capsys, hopper, bf_models):
    pytest.importorskip("skimage")
    from device.demo import face_photo

    two = np.hstack([hopper, cv2.resize(face_photo("astronaut"), (600, 600))])
    path = save(tmp_path / "two.png", two)
    out = str(tmp_path / "o")
    assert main(["eyes", path, "--out", out, *FAST]) == 0
    err = capsys.readouterr().err
    assert "found 2 faces (numbered 1-2 left to right); using the largest, #1" in err
    assert "--face N" in err
    assert main(["eyes", path, "--out", out, "--force", "--face", "2", *FAST]) == 0
    assert load_pack(out).patch.x > 512  # the astronaut's eyes, on the right
    capsys.readouterr()
    assert main(["eyes", path, "--out", out, "--force", "--face", "3", *FAST]) == EX_FAILURE
    assert "--face 3: the portrait has 2 face(s); choose 1 to 2" in one_error_line(capsys, PROG)


def test_bad_option_values_are_one_line(tmp_path, capsys):
    out = str(tmp_path / "o")
    assert main(["eyes", "x.png", "--out", out, "--frames", "1"]) == EX_FAILURE
    assert "--frames 1: a pack needs at least 2 yaw frames" in one_error_line(capsys, PROG)
    assert main(["eyes", "x.png", "--out", out, "--yaw-range", "10", "-10"]) == EX_FAILURE
    assert "--yaw-range 10 -10" in one_error_line(capsys, PROG)


def test_usage_errors_exit_2(capsys):
    assert main([]) == EX_USAGE
    assert main(["eyes"]) == EX_USAGE
    assert main(["eyes", "p.png", "--out", "o", "--alpha-shape", "round"]) == EX_USAGE
    assert "invalid choice: 'round'" in capsys.readouterr().err
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_blend_puts_generated_heads_back(tmp_path, capsys, hopper):
    crop = (150, 100, 256, 256)
    heads = tmp_path / "heads"
    heads.mkdir()
    x, y, w, h = crop
    for i in range(4):  # a "generator" at 128 px that shifted the colours
        head = cv2.resize(hopper[y : y + h, x : x + w], (128, 128), interpolation=cv2.INTER_AREA)
        head = np.clip(head.astype(int) + [40, -20, 10 * i], 0, 255).astype(np.uint8)
        save(heads / f"frame_{i + 1}.png", head)
    base = save(tmp_path / "p.png", hopper)
    out = tmp_path / "pack"
    assert (
        main(
            [
                "blend",
                base,
                str(heads),
                "--crop",
                *map(str, crop),
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    assert "4 frames (4 yaw x 1 pitch)" in capsys.readouterr().out
    pack = load_pack(out)
    p = pack.patch
    assert x <= p.x and y <= p.y and p.x + p.width <= x + w and p.y + p.height <= y + h
    assert (
        main(
            [
                "blend",
                base,
                str(heads),
                "--crop",
                *map(str, crop),
                "--out",
                str(tmp_path / "raw"),
                "--no-progress",
                "--no-colour-match",
            ]
        )
        == 0
    )
    raw = load_pack(tmp_path / "raw")
    inner = (slice(y + 80, y + 176), slice(x + 80, x + 176))

    def colour_error(frame: np.ndarray) -> float:
        diff = frame[inner].astype(float).mean(axis=(0, 1)) - hopper[inner].mean(axis=(0, 1))
        return float(np.abs(diff).max())

    assert colour_error(pack.full_frame(0)) < 0.4 * colour_error(raw.full_frame(0))
    assert pack.provenance["method"] == "blend" and pack.provenance["parameters"]["colour_match"]
    assert (
        main(
            [
                "blend",
                base,
                str(heads),
                "--crop",
                "400",
                "400",
                "256",
                "256",
                "--out",
                str(tmp_path / "p2"),
            ]
        )
        == EX_FAILURE
    )
    assert "must lie inside the 512x600 portrait" in one_error_line(capsys, PROG)
    assert (
        main(
            ["blend", base, str(tmp_path), "--crop", *map(str, crop), "--out", str(tmp_path / "p3")]
        )
        == EX_FAILURE
    )
    assert "found 1 head image(s); need at least 2" in one_error_line(capsys, PROG)
    assert (
        main(
            [
                "blend",
                base,
                str(heads),
                "--crop",
                *map(str, crop),
                "--pitch-rows",
                "3",
                "--out",
                str(tmp_path / "p4"),
            ]
        )
        == EX_FAILURE
    )
    assert "4 heads do not fill --pitch-rows 3" in one_error_line(capsys, PROG)


def test_preview_and_analyse(tmp_path, capsys, bf_models):
    pytest.importorskip("matplotlib")
    out = tmp_path / "pack"
    assert main(["eyes", "builtin:grace_hopper", "--out", str(out), *FAST]) == 0
    assert main(["preview", str(out), "--no-progress"]) == 0
    assert (tmp_path / "pack-sheet.png").is_file() and (tmp_path / "pack-sweep.gif").is_file()
    with Image.open(tmp_path / "pack-sweep.gif") as gif:
        assert gif.n_frames == 8  # 5 there, 3 back
    assert main(["preview", str(out), "--animation", str(tmp_path / "s.avi")]) == EX_FAILURE
    assert "unknown animation format '.avi'" in one_error_line(capsys, PROG)
    assert main(["preview", str(tmp_path / "nope")]) == EX_FAILURE
    assert "frame pack directory not found" in one_error_line(capsys, PROG)
    assert main(["analyse", "builtin:grace_hopper", "--out", str(tmp_path / "a.png")]) == 0
    assert "looks at yaw" in capsys.readouterr().out and (tmp_path / "a.png").is_file()


def test_fomm_subcommand_is_wired_in():
    assert main(["fomm", "--help"]) == 0


def test_other_subcommands_never_import_torch(tmp_path):
    code = (
        "import sys; from build_frames.cli import main; "
        f"main(['eyes', 'nope.png', '--out', {str(tmp_path / 'o')!r}]); "
        "main(['preview', 'nope']); "
        "bad = [m for m in ('torch', 'build_frames.fomm.cli') if m in sys.modules]; "
        "print(json.dumps(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import json; " + code],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_missing_models_are_one_line(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("MONA_FRAME_MODEL_DIR", str(tmp_path))
    assert main(["eyes", "builtin:grace_hopper", "--out", str(tmp_path / "o")]) == EX_FAILURE
    assert "missing; run `python models/fetch_models.py`" in one_error_line(capsys, PROG)


@pytest.mark.parametrize(
    ("centre", "shown"),
    [(("nan", "100"), "nan 100.0"), (("1e300", "100"), "1e+300 100.0"), (("5", "-1"), "5.0 -1.0")],
)
def test_alpha_centre_must_be_finite_and_inside_the_portrait(
    tmp_path, capsys, hopper, centre, shown
):
    base = save(tmp_path / "p.png", hopper)
    heads = tmp_path / "heads"
    heads.mkdir()
    for i in range(2):
        save(heads / f"h{i}.png", hopper[100:356, 150:406])
    commands = {
        "eyes": ["eyes", base],
        "blend": ["blend", base, str(heads), "--crop", "150", "100", "256", "256"],
    }
    for name, command in commands.items():
        out = tmp_path / name
        argv = [*command, "--out", str(out), "--no-progress", "--alpha-centre", *centre]
        assert main(argv) == EX_FAILURE, name
        line = one_error_line(capsys, PROG)
        assert f"--alpha-centre {shown}: the head centre must lie inside the 512x600 portrait" in (
            line
        )
        assert "0 <= X <= 512, 0 <= Y <= 600" in line
        assert not out.exists()


def test_a_programming_error_is_not_reported_as_a_missing_feature(monkeypatch):
    from build_frames import cmd_preview

    def broken(args):
        raise NotImplementedError("a bug")

    monkeypatch.setattr(cmd_preview, "run_preview", broken)
    with pytest.raises(NotImplementedError, match="a bug"):  # a traceback, not "not available yet"
        main(["preview", "nope"])


@pytest.mark.parametrize("command", ["eyes", "blend"])
def test_an_existing_out_is_refused_before_any_work(tmp_path, capsys, command):
    out = tmp_path / "pack"
    out.mkdir()
    (out / "thesis.txt").write_text("not a pack")
    # The portrait and heads do not even exist: the destination is checked first.
    args = [command, str(tmp_path / "missing.png")]
    if command == "blend":
        args += [str(tmp_path / "no-heads"), "--crop", "0", "0", "10", "10"]
    assert main([*args, "--out", str(out), "--no-progress"]) == EX_FAILURE
    assert "already exists (use --force to overwrite)" in one_error_line(capsys, PROG)
    assert main([*args, "--out", str(out), "--force", "--no-progress"]) == EX_FAILURE
    assert "is not a frame pack; not replacing it" in one_error_line(capsys, PROG)
    assert (out / "thesis.txt").read_text() == "not a pack"
