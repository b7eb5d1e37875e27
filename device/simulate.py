"""Headless run of the frame on a recorded viewer video: the demo and the debugging tool.

Every camera frame goes through the same GazePipeline as on the wall, timed by the
video's own clock (frame n is at n / fps seconds), so the idle rate, smoothing and
hysteresis behave as they would live. Output: a side-by-side video (camera view with
the detections and where the detector looked: the search tiles or the tracking crop |
what the frame shows) and optionally a JSON-lines trace with each frame's mode.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from device.camera import VideoFileCamera
from device.errors import MonaFrameError
from device.faces import Face
from device.finder import DetectionMode
from device.pack import FramePack, PatchRect
from device.pipeline import FrameResult, GazePipeline

# Colours (RGB) of the overlay: the viewer, other faces, and the eye points.
VIEWER_RGB = (0, 230, 0)
OTHER_FACE_RGB = (230, 160, 0)
EYE_RGB = (255, 40, 40)
# Where the detector ran: the search's tiles (the whole-frame pass is not drawn) and
# the tracking crop.
SEARCH_TILE_RGB = (80, 180, 255)
TRACK_CROP_RGB = (255, 230, 0)
# A frame with no detection (idle rate) is drawn with this dimming so it is visible in the video.
IDLE_DIM = 0.6
# The zoomed head inset: the patch plus this fraction of its size on each side, at most
# this fraction of the panel's height (the rest of the painting stays visible below it).
INSET_MARGIN = 0.25
INSET_MAX_HEIGHT = 0.35
INSET_MIN_ASPECT = 0.5  # height / width of the inset, at least
# Overlay lines and text were sized for a 640-px-wide camera view; wider views scale them.
OVERLAY_REFERENCE_WIDTH_PX = 640


def overlay_scale(view: np.ndarray) -> int:
    """Line width / text scale factor for a camera view: 1 up to 640 px wide, 2 at 1280."""
    return max(1, round(view.shape[1] / OVERLAY_REFERENCE_WIDTH_PX))


@dataclass(frozen=True)
class SimulationSummary:
    frames: int
    detections: int
    frame_changes: int
    first_index: int
    last_index: int
    out: Path
    trace: Path | None


def face_record(face: Face) -> dict[str, Any]:
    """A face as JSON: box [x_min, y_min, x_max, y_max], eyes [[x, y] right, [x, y] left] in px."""
    return {
        "box": [round(v, 1) for v in face.box_px],
        "eyes": [[round(v, 1) for v in face.keypoints_px[i]] for i in (0, 1)],
        "score": round(face.score, 3),
    }


def trace_record(seq: int, result: FrameResult, pack: FramePack) -> dict[str, Any]:
    """One trace line: time (s), detection mode, faces, viewer angle (deg), chosen frame.

    mode: "search" (whole frame + tiles), "track" (one crop around the viewer) or
    "idle" (no detection this frame); regions: where the detector ran, [x_min, y_min,
    x_max, y_max] px each, the whole frame first for a search.
    """
    g = result.gaze
    viewer = None
    if g.viewer is not None and result.detected:
        viewer = next((i for i, f in enumerate(result.faces) if f is g.viewer), None)
    return {
        "t": round(result.t_s, 4),
        "seq": seq,
        "mode": str(result.mode),
        "regions": [list(r) for r in result.regions_px],
        "detected": result.detected,
        "faces": [face_record(f) for f in result.faces],
        "viewer": viewer,
        "viewer_yaw_deg": None if g.viewer_yaw_deg is None else round(g.viewer_yaw_deg, 2),
        "target_yaw_deg": round(g.target_yaw_deg, 2),
        "frame_index": result.frame_index,
        "frame_yaw_deg": pack.yaw_deg[g.yaw_index],
    }


def draw_regions(view: np.ndarray, result: FrameResult) -> None:
    """Outline where the detector ran: search tiles (not the whole frame) or the crop."""
    if result.mode is DetectionMode.SEARCH:
        regions, colour = result.regions_px[1:], SEARCH_TILE_RGB
    elif result.mode is DetectionMode.TRACK:
        regions, colour = result.regions_px, TRACK_CROP_RGB
    else:
        return
    for x0, y0, x1, y1 in regions:
        cv2.rectangle(view, (x0, y0), (x1 - 1, y1 - 1), colour, overlay_scale(view))


def draw_camera_view(image_rgb: np.ndarray, result: FrameResult) -> np.ndarray:
    view = image_rgb.copy()
    if not result.detected:
        view = (view * IDLE_DIM).astype(np.uint8)
    draw_regions(view, result)
    for face in result.faces:
        colour = VIEWER_RGB if face is result.gaze.viewer else OTHER_FACE_RGB
        x0, y0, x1, y1 = (int(round(v)) for v in face.box_px)
        cv2.rectangle(view, (x0, y0), (x1, y1), colour, 2 * overlay_scale(view))
        for i in (0, 1):
            ex, ey = face.keypoints_px[i]
            centre = (int(round(ex)), int(round(ey)))
            cv2.circle(view, centre, 3 * overlay_scale(view), EYE_RGB, -1)
    g = result.gaze
    label = (
        "idle"
        if not result.detected
        else f"{result.mode}: "
        + ("nobody" if g.viewer_yaw_deg is None else f"viewer {g.viewer_yaw_deg:+.1f} deg")
    )
    k = overlay_scale(view)
    cv2.putText(
        view,
        label,
        (8 * k, 24 * k),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.7 * k,
        (255, 255, 255),
        2 * k,
        cv2.LINE_AA,
    )
    return view


def zoom_inset(shown_rgb: np.ndarray, patch: PatchRect, panel_wh: tuple[int, int]) -> np.ndarray:
    """The head patch (with a margin) enlarged to fit the panel's width and INSET_MAX_HEIGHT.

    The eyes move by a few pixels of a painting that is scaled down to the camera's
    height; the enlarged inset is what lets a person see them move.
    """
    margin_x = int(patch.width * INSET_MARGIN)
    # A patch may be a thin strip across the eyes: grow the view to a readable shape.
    want_h = max(
        patch.height * (1 + 2 * INSET_MARGIN), INSET_MIN_ASPECT * (patch.width + 2 * margin_x)
    )
    margin_y = int((want_h - patch.height) / 2)
    y0, y1 = max(patch.y - margin_y, 0), min(patch.y + patch.height + margin_y, shown_rgb.shape[0])
    x0, x1 = max(patch.x - margin_x, 0), min(patch.x + patch.width + margin_x, shown_rgb.shape[1])
    crop = shown_rgb[y0:y1, x0:x1]
    scale = min(panel_wh[0] / crop.shape[1], INSET_MAX_HEIGHT * panel_wh[1] / crop.shape[0])
    size = (max(int(crop.shape[1] * scale), 1), max(int(crop.shape[0] * scale), 1))
    return cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC)


def compose(
    camera_view: np.ndarray, shown_rgb: np.ndarray, caption: str, patch: PatchRect | None = None
) -> np.ndarray:
    """Camera view and the portrait side by side at the camera's height; (H, W, 3) RGB.

    With `patch`, an enlarged view of the head patch is inset at the top of the portrait.
    """
    h = camera_view.shape[0]
    w = max(int(round(shown_rgb.shape[1] * h / shown_rgb.shape[0])), 1)
    shown = cv2.resize(shown_rgb, (w, h), interpolation=cv2.INTER_AREA)
    if patch is not None:
        inset = zoom_inset(shown_rgb, patch, (w, h))
        ih, iw = inset.shape[:2]
        x = (w - iw) // 2
        shown[:ih, x : x + iw] = inset
        cv2.rectangle(shown, (x, 0), (x + iw - 1, ih - 1), (255, 255, 255), 1)
    cv2.putText(
        shown, caption, (8, h - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA
    )
    out = np.concatenate([camera_view, shown], axis=1)
    return out[: out.shape[0] // 2 * 2, : out.shape[1] // 2 * 2]  # codecs want even sizes


def _frames(camera: VideoFileCamera) -> Iterator[tuple[int, np.ndarray]]:
    seq = 0
    while True:
        frame = camera.latest(seq, 5.0)
        if frame is None:
            if camera.ended:
                return
            raise MonaFrameError(f"{camera.name}: video decoding stalled")
        seq = frame.seq
        yield seq, frame.image_rgb


def _prepare_output(path: Path, what: str) -> None:
    """Fail early, before any work, if `path` cannot take a file; create its folder."""
    if path.is_dir():
        raise MonaFrameError(f"{path}: is a directory; {what} needs a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MonaFrameError(f"{path.parent}: cannot create the folder ({exc.strerror})") from None


def simulate(
    viewer_video: Path,
    pack: FramePack,
    pipeline: GazePipeline,
    out: Path,
    trace: Path | None = None,
    progress: bool = True,
) -> SimulationSummary:
    """Run `pipeline` over every frame of `viewer_video`; write the video `out` (+ trace).

    Both files are written under temporary names and renamed into place at the end;
    on any failure neither the temporary files nor a half-written output remain.
    """
    out = Path(out)
    trace = Path(trace) if trace is not None else None
    _prepare_output(out, "--out")
    if trace is not None:
        _prepare_output(trace, "--trace")
    tmp_out = out.with_name(f".{out.stem}.tmp{out.suffix or '.mp4'}")
    tmp_trace = trace.with_name(f".{trace.name}.tmp") if trace is not None else None
    camera = VideoFileCamera(viewer_video, loop=False, realtime=False)
    fps = camera.fps
    writer: cv2.VideoWriter | None = None
    trace_file: IO[str] | None = None
    frames = detections = changes = 0
    first = last = -1
    bar = None
    try:
        if tmp_trace is not None:
            trace_file = open(tmp_trace, "w", encoding="utf-8")  # noqa: SIM115
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=camera.frame_count or None, unit="frame", desc="simulate", leave=False)
        with camera:
            for seq, image in _frames(camera):
                result = pipeline.process((seq - 1) / fps, image)
                frames += 1
                detections += result.detected
                if first < 0:
                    first = result.frame_index
                changes += last >= 0 and result.frame_index != last
                last = result.frame_index
                yaw = pack.yaw_deg[result.gaze.yaw_index]
                caption = f"frame {result.frame_index + 1}/{pack.n_frames}  yaw {yaw:+.0f} deg"
                panel = compose(
                    draw_camera_view(image, result),
                    pack.full_frame(result.frame_index),
                    caption,
                    pack.patch,
                )
                if writer is None:
                    size = (panel.shape[1], panel.shape[0])
                    writer = cv2.VideoWriter(
                        str(tmp_out), cv2.VideoWriter.fourcc(*"mp4v"), fps, size
                    )
                    if not writer.isOpened():
                        raise MonaFrameError(f"{out}: cannot write an mp4 video here")
                writer.write(cv2.cvtColor(panel, cv2.COLOR_RGB2BGR))
                if trace_file is not None:
                    trace_file.write(json.dumps(trace_record(seq, result, pack)) + "\n")
                if bar is not None:
                    bar.update()
        if frames == 0:
            raise MonaFrameError(f"{viewer_video}: no frames could be read")
        _finish(writer, trace_file)
        writer = trace_file = None
        os.replace(tmp_out, out)
        if trace is not None and tmp_trace is not None:
            os.replace(tmp_trace, trace)
    except BaseException:
        _finish(writer, trace_file)
        for p in (tmp_out, tmp_trace):
            if p is not None:
                p.unlink(missing_ok=True)
        raise
    finally:
        camera.close()
        if bar is not None:
            bar.close()
    return SimulationSummary(frames, detections, changes, first, last, out, trace)


def _finish(writer: cv2.VideoWriter | None, trace_file: IO[str] | None) -> None:
    """Flush and close the outputs (before they are renamed or deleted)."""
    if writer is not None:
        writer.release()
    if trace_file is not None:
        trace_file.close()
