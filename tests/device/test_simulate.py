"""`simulate` with the default configuration: a viewer across the room, search then track."""

from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest

from device import demo, optics
from device import simulate as simulate_module
from device.detector import BlazeFaceDetector, FakeDetector
from device.errors import MonaFrameError
from device.faces import Face
from device.finder import DetectionMode
from device.gaze import GazeSettings
from device.pack import PatchRect, load_pack, write_pack
from device.pipeline import GazePipeline
from device.services.config import Config
from device.services.service import make_pipeline
from device.simulate import SEARCH_TILE_RGB, TRACK_CROP_RGB, draw_camera_view, simulate

YAW = tuple(float(a) for a in np.linspace(-20.0, 20.0, 9))
FPS = 30.0
SIZE = (1280, 720)
SETTLE_S = 1.0


def numbered_pack(tmp_path):
    base = np.full((200, 160, 3), 90, np.uint8)
    patches = [np.full((40, 40, 3), 20 * i, np.uint8) for i in range(len(YAW))]
    return load_pack(write_pack(tmp_path / "pack", base, PatchRect(60, 40, 40, 40), patches, YAW))


@pytest.mark.parametrize(("photo", "distance_m"), [("astronaut", 3.5), ("grace_hopper", 2.5)])
def test_a_viewer_across_the_room_is_found_by_search_then_tracked_smoothly(
    tmp_path, photo, distance_m
) -> None:
    config = Config()
    face_px = optics.face_width_px(distance_m, SIZE[0], config.camera.horizontal_fov_deg)
    walk = demo.ViewerPath(
        start_x=0.85, end_x=0.15, walk_s=4.0, still_s=3.0, face_width=face_px / SIZE[0]
    )
    with BlazeFaceDetector(config.detector.model) as detector:
        video = demo.write_viewer_video(
            tmp_path / "viewer.mp4", detector.detect, photo, walk, SIZE, FPS
        )
        pack = numbered_pack(tmp_path)
        summary = simulate(
            video,
            pack,
            make_pipeline(config, pack, detector),
            tmp_path / "sim.mp4",
            tmp_path / "trace.jsonl",
            progress=False,
        )
    records = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    assert summary.frames == len(records) == round(walk.duration_s * FPS)
    # Found by the first search (the whole frame + 4 tiles), then tracked in every frame.
    assert records[0]["mode"] == "search" and len(records[0]["regions"]) == 5
    assert [r["mode"] for r in records[1:]] == ["track"] * (len(records) - 1)
    assert all(len(r["regions"]) == 1 for r in records[1:])
    assert all(r["detected"] and r["viewer"] is not None for r in records)
    # The portrait turns monotonically from one side to the other, then holds still.
    indices = [r["frame_index"] for r in records]
    assert indices[0] == 0 and indices[-1] == len(YAW) - 1
    assert all(b >= a for a, b in zip(indices, indices[1:], strict=False)), indices
    settled = [r["frame_index"] for r in records if r["t"] >= walk.walk_s + SETTLE_S]
    assert len(settled) >= 45 and len(set(settled)) == 1


def test_the_camera_view_outlines_the_tiles_or_the_crop() -> None:
    image = np.zeros((720, 1280, 3), np.uint8)
    face = Face(
        (600.0, 300.0, 640.0, 340.0), ((610.0, 315.0), (630.0, 315.0)) + ((620.0, 325.0),) * 4, 0.9
    )
    pipeline = GazePipeline(
        FakeDetector(lambda frame: [face]), YAW, GazeSettings(), idle_rate_hz=1.5
    )
    searched = pipeline.process(0.0, image)
    tracked = pipeline.process(1 / 30, image)
    assert (searched.mode, tracked.mode) == (DetectionMode.SEARCH, DetectionMode.TRACK)
    x0, y0, _, _ = searched.regions_px[2]  # the second tile's top-left corner
    assert draw_camera_view(image, searched)[y0, x0].tolist() == list(SEARCH_TILE_RGB)
    cx0, cy0, _, _ = tracked.regions_px[0]
    assert draw_camera_view(image, tracked)[cy0, cx0].tolist() == list(TRACK_CROP_RGB)


def _small_clip(path, n_frames: int = 6):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (64, 48))
    assert writer.isOpened()
    for n in range(n_frames):
        writer.write(np.full((48, 64, 3), 20 * n, np.uint8))
    writer.release()
    return path


def _empty_room_pipeline() -> GazePipeline:
    return GazePipeline(FakeDetector(lambda frame: []), YAW, GazeSettings(), idle_rate_hz=1.5)


@pytest.mark.parametrize("which", ["out", "trace"])
def test_an_output_path_that_is_a_directory_is_refused_before_any_work(tmp_path, which) -> None:
    clip = _small_clip(tmp_path / "viewer.mp4")
    pack = numbered_pack(tmp_path)
    (tmp_path / "taken").mkdir()
    paths = {"out": tmp_path / "sim.mp4", "trace": tmp_path / "trace.jsonl"}
    paths[which] = tmp_path / "taken"
    pipeline = _empty_room_pipeline()
    with pytest.raises(MonaFrameError, match="taken: is a directory"):
        simulate(clip, pack, pipeline, paths["out"], paths["trace"], progress=False)
    assert pipeline.detector.frames == []  # type: ignore[attr-defined]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack", "taken", "viewer.mp4"]
    assert list((tmp_path / "taken").iterdir()) == []


def test_the_trace_folder_is_created_like_the_out_folder(tmp_path) -> None:
    clip = _small_clip(tmp_path / "viewer.mp4")
    summary = simulate(
        clip,
        numbered_pack(tmp_path),
        _empty_room_pipeline(),
        tmp_path / "a" / "sim.mp4",
        tmp_path / "b" / "c" / "trace.jsonl",
        progress=False,
    )
    assert summary.frames == 6
    assert len((tmp_path / "b" / "c" / "trace.jsonl").read_text().splitlines()) == 6
    assert (tmp_path / "a" / "sim.mp4").stat().st_size > 0


def test_a_failed_rename_leaves_no_temporary_files(tmp_path, monkeypatch) -> None:
    clip = _small_clip(tmp_path / "viewer.mp4")
    pack = numbered_pack(tmp_path)
    real_replace = os.replace

    def replace(src, dst):
        if str(dst).endswith(".jsonl"):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(simulate_module.os, "replace", replace)
    with pytest.raises(OSError, match="No space left"):
        simulate(
            clip,
            pack,
            _empty_room_pipeline(),
            tmp_path / "out" / "sim.mp4",
            tmp_path / "out" / "trace.jsonl",
            progress=False,
        )
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")] == []
    assert not (tmp_path / "out" / "trace.jsonl").exists()


def test_every_video_capture_opened_is_released(tmp_path, monkeypatch) -> None:
    clip = _small_clip(tmp_path / "viewer.mp4")
    pack = numbered_pack(tmp_path)
    opened: list[cv2.VideoCapture] = []
    real_capture = cv2.VideoCapture

    def capture(*args):
        cap = real_capture(*args)
        opened.append(cap)
        return cap

    monkeypatch.setattr(cv2, "VideoCapture", capture)
    simulate(clip, pack, _empty_room_pipeline(), tmp_path / "sim.mp4", progress=True)
    assert opened and not any(cap.isOpened() for cap in opened)


def test_the_portrait_panel_carries_an_enlarged_inset_of_the_head_patch():
    from device.pack import PatchRect
    from device.simulate import compose

    camera_view = np.zeros((120, 160, 3), np.uint8)
    painting = np.zeros((400, 300, 3), np.uint8)
    painting[200:210, 100:140] = (255, 0, 0)  # the "eyes": a red strip inside the patch
    panel = compose(camera_view, painting, "", PatchRect(100, 200, 40, 10))
    portrait = panel[:, 160:]
    red = (portrait[..., 0] > 200) & (portrait[..., 1] < 60)
    rows = np.flatnonzero(red.any(axis=1))
    # Enlarged: the 10-px strip (3 px at the panel's scale) is many rows tall in the inset,
    # which sits at the top of the panel.
    assert rows.size >= 15 and rows.min() < 0.35 * portrait.shape[0]
    plain = compose(camera_view, painting, "")[:, 160:]
    plain_red = (plain[..., 0] > 200) & (plain[..., 1] < 60)
    assert np.flatnonzero(plain_red.any(axis=1)).size < 6
