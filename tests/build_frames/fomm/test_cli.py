"""`build-frames fomm` end to end, in-process: the official-shape random checkpoint animates a
package-shipped photo by a generated driving clip into a pack the device loads; every bad
input is one line."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from build_frames.cli import EX_FAILURE, main  # noqa: E402
from build_frames.fomm import build  # noqa: E402
from device import demo  # noqa: E402
from device.detector import BlazeFaceDetector  # noqa: E402
from device.pack import load_pack  # noqa: E402
from tests.helpers import one_error_line  # noqa: E402

PROG = "build-frames"

# A still face, 0.3 of the width, for 1.2 s at 30 fps: 36 frames, just over the 33 needed.
STILL = demo.ViewerPath(start_x=0.5, end_x=0.5, walk_s=1.0, still_s=0.2, face_width=0.3)
CLIP_SIZE = (480, 360)
CLIP_FPS = 30.0
CLIP_FRAMES = 36
PORTRAIT = "builtin:astronaut"


@pytest.fixture(scope="module")
def driving_video(tmp_path_factory, bf_models):
    pytest.importorskip("skimage")
    with BlazeFaceDetector("short_range") as detector:
        return demo.write_viewer_video(
            tmp_path_factory.mktemp("driving") / "driver.mp4",
            detector.detect,
            "astronaut",
            STILL,
            size=CLIP_SIZE,
            fps=CLIP_FPS,
        )


def fomm_args(checkpoint, video, out, *extra: str) -> list[str]:
    return [
        "fomm",
        "--portrait",
        PORTRAIT,
        "--driving",
        str(video),
        "--checkpoint",
        str(checkpoint),
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_random_official_checkpoint_gives_a_pack_the_device_loads(
    tmp_path, capsys, official_checkpoint, driving_video
):
    out, heads = tmp_path / "pack", tmp_path / "heads"
    args = fomm_args(
        official_checkpoint, driving_video, out, "--frames", "5", "--frames-dir", str(heads)
    )
    assert main([*args, "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().startswith(f"wrote {out}: 5 frames (5 yaw x 1 pitch), patch ")
    # Random weights paint no eyes: the driver's gaze orders the frames, and says so.
    assert "ordering the frames by the driving video's gaze" in captured.err

    pack = load_pack(out)
    assert pack.n_frames == 5 and pack.pitch_deg == (0.0,)
    assert pack.yaw_deg == (-30.0, -15.0, 0.0, 15.0, 30.0)
    prov = pack.provenance
    assert prov["method"] == "fomm"
    assert prov["checkpoint"] == {
        "file": "vox-cpk.pth.tar",
        "sha256": sha256(official_checkpoint),
    }
    assert prov["driving"]["sha256"] == sha256(driving_video)
    assert prov["driving"]["frames_used"] == CLIP_FRAMES
    assert prov["parameters"]["frames"] == 5 and prov["parameters"]["device"] == "cpu"
    assert prov["fomm"]["device"] == "cpu"
    gaze = prov["gaze"]
    assert gaze["measured_on"] == "driving video" and gaze["measured_frames"] == CLIP_FRAMES
    assert gaze["picked_gaze_deg"] == sorted(gaze["picked_gaze_deg"])
    assert len(set(gaze["picked_video_frames"])) == 5
    # The heads were blended inside the portrait's head crop, nowhere else.
    x, y, side = prov["analysis"]["head_crop_px"]
    p = pack.patch
    assert x <= p.x and y <= p.y and p.x + p.width <= x + side and p.y + p.height <= y + side

    files = sorted(heads.glob("head_*.png"))
    assert len(files) == CLIP_FRAMES
    with Image.open(files[0]) as first:
        assert first.size == (256, 256)
    record = json.loads((heads / "heads.json").read_text())
    picked = [h for h in record["heads"] if h["yaw_deg"] is not None]
    assert sorted(h["yaw_deg"] for h in picked) == list(pack.yaw_deg)
    by_yaw = sorted(picked, key=lambda h: h["yaw_deg"])
    assert [h["video_frame"] for h in by_yaw] == gaze["picked_video_frames"]

    # What exists is refused before any work, unless --force.
    assert main([*args, "--frames-dir", str(tmp_path / "new")]) == EX_FAILURE
    assert "pack: already exists (use --force to overwrite)" in one_error_line(capsys, PROG)
    args_new_out = fomm_args(official_checkpoint, driving_video, tmp_path / "p2")
    assert main([*args_new_out, "--frames-dir", str(heads)]) == EX_FAILURE
    assert "heads: not empty (use --force" in one_error_line(capsys, PROG)


def test_heads_with_eyes_are_ordered_by_their_own_gaze(
    tmp_path, capsys, monkeypatch, official_checkpoint, driving_video
):
    """A 'generator' that returns the portrait's own head: the heads' gaze orders them, and
    blending them back leaves the painting as it was (the crop goes there and back)."""

    def still_portrait(kp_detector, generator, source_rgb, driving_rgb, *args, **kwargs):
        return np.repeat(source_rgb[None], len(driving_rgb), axis=0)

    monkeypatch.setattr(build, "animate", still_portrait)
    out = tmp_path / "pack"
    assert main(fomm_args(official_checkpoint, driving_video, out, "--frames", "3")) == 0
    assert "driving video's gaze" not in capsys.readouterr().err
    pack = load_pack(out)
    assert pack.provenance["gaze"]["measured_on"] == "generated heads"
    assert pack.provenance["gaze"]["measured_frames"] == CLIP_FRAMES
    x, y, side = pack.provenance["analysis"]["head_crop_px"]
    inner = (slice(y + side // 4, y + 3 * side // 4), slice(x + side // 4, x + 3 * side // 4))
    painting = pack.base[inner].astype(float)
    assert np.abs(pack.full_frame(1)[inner].astype(float) - painting).mean() < 4.0


def test_missing_or_wrong_checkpoint_is_one_line_naming_the_file_needed(
    tmp_path, capsys, bf_models
):
    pytest.importorskip("skimage")
    video = tmp_path / "driver.mp4"
    video.write_bytes(b"not read before the checkpoint")
    text = tmp_path / "vox-cpk.pth.tar"
    text.write_text("a text file, not a checkpoint")
    for checkpoint, fault in ((tmp_path / "absent.pth.tar", "no such file"), (text, "not a torch")):
        assert main(fomm_args(checkpoint, video, tmp_path / "o")) == EX_FAILURE
        line = one_error_line(capsys, PROG)
        assert fault in line and "vox-cpk.pth.tar" in line and "first-order-model" in line
        assert not (tmp_path / "o").exists()


def test_missing_or_unreadable_driving_video_is_one_line(
    tmp_path, capsys, official_checkpoint, bf_models
):
    assert main(fomm_args(official_checkpoint, tmp_path / "absent.mp4", tmp_path / "o")) == 1
    assert "absent.mp4: no such file (the driving video)" in one_error_line(capsys, PROG)
    pytest.importorskip("skimage")
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video")
    assert main(fomm_args(official_checkpoint, notes, tmp_path / "o")) == EX_FAILURE
    line = one_error_line(capsys, PROG)
    assert "notes.mp4: " in line and ("cannot open it as a video" in line or "no frames" in line)


def test_no_face_in_the_portrait_is_one_line(tmp_path, capsys, bf_models):
    ramp = np.tile(np.linspace(0, 255, 300, dtype=np.uint8)[None, :, None], (300, 1, 3))
    wall = tmp_path / "wall.png"
    Image.fromarray(ramp).save(wall)
    video = tmp_path / "driver.mp4"
    video.write_bytes(b"x")
    args = fomm_args(tmp_path / "ckpt", video, tmp_path / "o")
    args[args.index(PORTRAIT)] = str(wall)
    assert main(args) == EX_FAILURE
    assert "no face found in the portrait" in one_error_line(capsys, PROG)


def test_bad_option_values_are_one_line(tmp_path, capsys):
    video = tmp_path / "driver.mp4"
    video.write_bytes(b"x")
    base = fomm_args(tmp_path / "ckpt", video, tmp_path / "o")
    for extra, message in (
        (["--frames", "1"], "--frames 1: a pack needs at least 2 yaw frames"),
        (["--frames", "301"], "--frames 301: at most 300"),
        (["--batch-size", "0"], "--batch-size 0: must be at least 1"),
        (["--yaw-range", "5", "-5"], "--yaw-range 5 -5: the first angle must be below"),
    ):
        assert main([*base, *extra]) == EX_FAILURE
        assert message in one_error_line(capsys, PROG)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present")
def test_cuda_asked_for_without_a_gpu_is_one_line(tmp_path, capsys, official_checkpoint, bf_models):
    pytest.importorskip("skimage")
    video = tmp_path / "driver.mp4"
    video.write_bytes(b"x")
    args = fomm_args(official_checkpoint, video, tmp_path / "o", "--device", "cuda")
    assert main(args) == EX_FAILURE
    assert "torch sees no CUDA GPU (use --device cpu" in one_error_line(capsys, PROG)


def test_missing_torch_says_which_pip_install(tmp_path):
    code = (
        "import sys; sys.modules['torch'] = None; from build_frames.cli import main; "
        "sys.exit(main(['fomm', '--portrait', 'p.png', '--driving', 'd.mp4', "
        "'--checkpoint', 'c.pth.tar', '--out', 'o']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert result.returncode == EX_FAILURE
    assert result.stderr.strip() == (
        "build-frames: error: fomm needs torch: pip install 'mona-frame[fomm]'"
    )
