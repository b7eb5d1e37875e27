"""`mona-frame` bad inputs: one line on stderr, a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from device.pack import PatchRect, write_pack
from device.services.cli import EX_CONFIG, main
from tests.helpers import one_error_line

PROG = "mona-frame"


@pytest.fixture
def pack_dir(tmp_path):
    base = np.zeros((40, 40, 3), np.uint8)
    patches = [np.full((10, 10, 3), i, np.uint8) for i in range(3)]
    return write_pack(tmp_path / "pack", base, PatchRect(5, 5, 10, 10), patches, (-10.0, 0.0, 10.0))


@pytest.fixture(autouse=True)
def headless(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)


def test_missing_pack(tmp_path, capsys):
    assert main(["run", "--pack", str(tmp_path / "nope")]) == EX_CONFIG
    assert "frame pack directory not found" in one_error_line(capsys, PROG)


def test_corrupt_pack(pack_dir, capsys):
    (pack_dir / "frame_p00_y001.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    assert main(["run", "--pack", str(pack_dir)]) == EX_CONFIG
    assert "frame_p00_y001.png: checksum mismatch" in one_error_line(capsys, PROG)


def test_unknown_camera_is_a_config_error_exit_78(pack_dir, capsys):
    """Deliberate change: an unknown camera source used to exit 1 (a failure systemd
    restarts forever); it is a configuration mistake, so now EX_CONFIG (78)."""
    assert main(["run", "--pack", str(pack_dir), "--camera", "webcam-please"]) == EX_CONFIG
    line = one_error_line(capsys, PROG)
    assert "webcam-please" in line and "usb:" in line


def test_missing_model(pack_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MONA_FRAME_MODEL_DIR", str(tmp_path / "empty"))
    # The default model is now full_range (next test); this one asks for short_range.
    cfg = tmp_path / "config.toml"
    cfg.write_text('[detector]\nmodel = "short_range"\n')
    assert main(["run", "--config", str(cfg), "--pack", str(pack_dir)]) == EX_CONFIG
    line = one_error_line(capsys, PROG)
    assert "face_detection_short_range.tflite" in line and "fetch_models.py" in line


def test_missing_default_model(pack_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MONA_FRAME_MODEL_DIR", str(tmp_path / "empty"))
    assert main(["run", "--pack", str(pack_dir)]) == EX_CONFIG
    line = one_error_line(capsys, PROG)
    assert "face_detection_full_range.tflite" in line and "fetch_models.py" in line


def test_bad_config_value(tmp_path, capsys):
    cfg = tmp_path / "config.toml"
    cfg.write_text("[camera]\nhorizontal_fov_deg = 400\n")
    assert main(["run", "--config", str(cfg)]) == EX_CONFIG
    assert "camera.horizontal_fov_deg" in one_error_line(capsys, PROG)


def test_unknown_config_key(tmp_path, capsys):
    cfg = tmp_path / "config.toml"
    cfg.write_text("[display]\nrotate = 90\n")
    assert main(["check", "--config", str(cfg)]) == EX_CONFIG
    assert "rotate" in one_error_line(capsys, PROG)


def test_missing_config_file(tmp_path, capsys):
    assert main(["run", "--config", str(tmp_path / "none.toml")]) == EX_CONFIG
    assert "none.toml" in one_error_line(capsys, PROG)


def test_simulate_missing_viewer_video(pack_dir, tmp_path, capsys):
    code = main(
        [
            "simulate",
            "--pack",
            str(pack_dir),
            "--viewer",
            str(tmp_path / "no.mp4"),
            "--out",
            str(tmp_path / "o.mp4"),
        ]
    )
    assert code != 0
    assert "no.mp4" in one_error_line(capsys, PROG)
    assert not (tmp_path / "o.mp4").exists()


def test_check_reports_each_part(pack_dir, tmp_path, capsys):
    video = tmp_path / "cam.mp4"
    import cv2

    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"mp4v"), 10, (64, 48))
    for _ in range(5):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    code = main(["check", "--pack", str(pack_dir), "--camera", str(video), "--driver", "dummy"])
    out = capsys.readouterr().out
    assert code == 0, out
    for part in ("pack", "model", "camera", "display"):
        assert any(line.startswith("ok") and f" {part} " in line for line in out.splitlines()), out
    assert "3 frames" in out and "64x48" in out


def test_check_fails_on_a_bad_camera(pack_dir, capsys):
    assert main(["check", "--pack", str(pack_dir), "--camera", "usb:99", "--driver", "dummy"]) == 1
    out = capsys.readouterr().out
    assert any(line.startswith("FAIL") and "camera" in line for line in out.splitlines())


def test_check_exits_78_when_the_pack_is_bad(pack_dir, capsys):
    """As README promises (and as `run` does): pack/model faults are EX_CONFIG."""
    (pack_dir / "frame_p00_y001.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    assert main(["check", "--pack", str(pack_dir), "--camera", "usb:99", "--driver", "dummy"]) == (
        EX_CONFIG
    )
    out = capsys.readouterr().out
    assert any(line.startswith("FAIL") and "pack" in line for line in out.splitlines())


def test_check_exits_78_when_the_model_is_missing(pack_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MONA_FRAME_MODEL_DIR", str(tmp_path / "empty"))
    cfg = tmp_path / "config.toml"
    cfg.write_text('[detector]\nmodel = "short_range"\n')
    args = ["check", "--config", str(cfg), "--pack", str(pack_dir), "--driver", "dummy"]
    assert main([*args, "--camera", "usb:99"]) == EX_CONFIG
    out = capsys.readouterr().out
    assert any(line.startswith("FAIL") and "model" in line for line in out.splitlines())


def test_console_script_prints_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "device.services.cli", "run", "--pack", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == EX_CONFIG
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [f"mona-frame: error: {tmp_path / 'nope'}: frame pack directory not found"]


def test_simulate_writes_video_and_trace(pack_dir, tmp_path, capsys):
    from device import demo
    from device.detector import BlazeFaceDetector

    with BlazeFaceDetector() as detector:
        video = demo.write_viewer_video(
            tmp_path / "v.mp4",
            detector.detect,
            "astronaut",
            demo.ViewerPath(walk_s=1.0, still_s=0.5),
            fps=20.0,
        )
    code = main(
        [
            "simulate",
            "--pack",
            str(pack_dir),
            "--viewer",
            str(video),
            "--out",
            str(tmp_path / "sim.mp4"),
            "--trace",
            str(tmp_path / "t.jsonl"),
            "--no-progress",
        ]
    )
    assert code == 0
    lines = (tmp_path / "t.jsonl").read_text().splitlines()
    assert len(lines) == 30
    record = json.loads(lines[0])
    assert {"t", "faces", "viewer_yaw_deg", "frame_index", "mode"} <= set(record)
    assert (tmp_path / "sim.mp4").stat().st_size > 0
    assert "wrote" in capsys.readouterr().out


def test_check_describes_how_the_search_covers_the_frame():
    from device.services.cli import describe_search
    from device.services.config import Config

    line = describe_search(Config())
    assert line.startswith("search: whole 1280x720 frame + 4 tiles of 455x455 px")
    assert "~5.0 m" in line
    only_whole = Config().with_overrides({"detector.search_tiles": 0})
    assert describe_search(only_whole) == "search: the whole 1280x720 frame only"


def test_a_huge_usb_index_is_one_line_exit_78(pack_dir, capsys):
    assert main(["run", "--pack", str(pack_dir), "--camera", "usb:99999999999999999999"]) == (
        EX_CONFIG
    )
    assert "0..255" in one_error_line(capsys, PROG)
