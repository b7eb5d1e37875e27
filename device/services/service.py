"""The frame's main loop: camera → pipeline → display, reporting to systemd.

Composes parts that are each behind a small interface (Camera, Detector, Display,
Notifier), so tests drive it with a video file, a fake display and a real
NOTIFY_SOCKET.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from device.capture import Camera
from device.detector import Detector
from device.display import Display
from device.finder import DetectionMode
from device.gaze import GazeSettings
from device.pack import FramePack
from device.pipeline import FrameResult, GazePipeline
from device.search import SearchSettings
from device.services.config import Config
from device.services.notify import Notifier

log = logging.getLogger("mona_frame.service")

# Longest the loop blocks on the camera, so window events are handled promptly.
# (An idle wait lasts until the next detection, watchdog ping or drift step is due:
# stop.wait() returns at once on SIGTERM, and waking more often would only cost the Pi
# power.)
POLL_S = 0.1
# While the portrait drifts back to the centre in an empty room, the loop takes a frame
# this often (10 Hz) so the eyes turn one gaze step at a time; fully idle at the centre
# it wakes only for the next search or watchdog ping.
DRIFT_TICK_S = 0.1


def gaze_settings(config: Config) -> GazeSettings:
    """The tracker's settings from the [camera] and [gaze] config sections."""
    g = config.gaze
    return GazeSettings(
        horizontal_fov_deg=config.camera.horizontal_fov_deg,
        mirror=config.camera.mirror,
        min_cutoff_hz=g.min_cutoff_hz,
        beta=g.beta,
        d_cutoff_hz=g.d_cutoff_hz,
        hysteresis=g.hysteresis,
        switch_ratio=g.switch_ratio,
        lost_after_s=g.lost_after_s,
        return_to_centre_s=g.return_to_centre_s,
        return_speed_deg_s=g.return_speed_deg_s,
    )


def search_settings(config: Config) -> SearchSettings:
    """The face finder's search and tracking settings from the [detector] config section."""
    d = config.detector
    return SearchSettings(
        tiles=d.search_tiles,
        head_band_top=d.head_band_top,
        head_band_bottom=d.head_band_bottom,
        max_far_face_px=d.max_far_face_px,
        track_crop_face_widths=d.track_crop_face_widths,
    )


def make_pipeline(config: Config, pack: FramePack, detector: Detector) -> GazePipeline:
    return GazePipeline(
        detector,
        pack.yaw_deg,
        gaze_settings(config),
        config.detector.idle_rate_hz,
        pitch_index=pack.level_pitch_index,
        search=search_settings(config),
    )


@dataclass
class _Window:
    """Counts for one STATUS= period."""

    started_s: float
    frames: int = 0
    detections: int = 0
    searches: int = 0


class FrameService:
    """Runs until `stop` is set, the window is closed, or a video file ends."""

    def __init__(
        self,
        config: Config,
        pack: FramePack,
        camera: Camera,
        detector: Detector,
        display: Display,
        notifier: Notifier,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.pack = pack
        self.camera = camera
        self.display = display
        self.notifier = notifier
        self.clock = clock
        self.pipeline = make_pipeline(config, pack, detector)
        self.watchdog_s = notifier.watchdog_interval_s()
        self.blank = False
        self.last_result: FrameResult | None = None

    def run(self, stop: threading.Event) -> None:
        cfg = self.config
        start = self.clock()
        self.display.show(self.pipeline.frame_offset + self.pipeline.tracker.yaw_index)
        self.notifier.ready()
        log.info(
            "ready: %d-frame pack %s, camera %s",
            self.pack.n_frames,
            self.pack.root,
            cfg.camera.source,
        )
        last_seq, last_frame_s, last_watchdog_s, last_viewer_s = 0, start, start, start
        stalled, was_present = False, False
        window = _Window(start)
        while not stop.is_set():
            if self.display.poll_quit():
                log.info("window closed")
                break
            now = self.clock()
            wait = self._idle_wait_s(now, last_watchdog_s, last_frame_s)
            if wait > 0:  # nobody in view: detect only at the idle rate
                stop.wait(wait)
                continue
            frame = self.camera.latest(last_seq, POLL_S)
            now = self.clock()
            if frame is None:
                if self.camera.ended:
                    log.info("camera source ended")
                    break
                if not stalled and now - last_frame_s > cfg.service.stall_timeout_s:
                    stalled = True
                    log.warning("camera stalled: no frame for %.1f s", now - last_frame_s)
                    self.notifier.status(f"camera stalled: no frame for {now - last_frame_s:.1f} s")
                continue
            if stalled:
                log.info("camera delivers frames again")
                stalled = False
            last_seq, last_frame_s = frame.seq, now
            result = self.pipeline.process(frame.t_capture, frame.image_rgb)
            self.last_result = result
            window.frames += 1
            window.detections += result.detected
            window.searches += result.mode is DetectionMode.SEARCH

            present = self.pipeline.viewer_present
            if present != was_present:
                if present and result.gaze.viewer_yaw_deg is not None:
                    log.info("viewer arrived at %+.0f°", result.gaze.viewer_yaw_deg)
                else:
                    log.info("viewer left")
                was_present = present
            if present:
                last_viewer_s = now
            self._update_screen(result, now - last_viewer_s)

            # Frames really flow: only now may systemd's watchdog be fed.
            if self.watchdog_s is not None and now - last_watchdog_s >= self.watchdog_s:
                self.notifier.watchdog()
                last_watchdog_s = now
            if now - window.started_s >= cfg.service.status_interval_s:
                self._report(window, now, result)
                window = _Window(now)

    def _idle_wait_s(self, now: float, last_watchdog_s: float, last_frame_s: float) -> float:
        """How long the loop may sleep before taking a frame: until the next detection,
        but no later than the next watchdog ping (frames keep flowing in an empty room
        too, and only a frame taken proves it) or, during a drift, the next drift step."""
        wait = self.pipeline.seconds_until_due(now)
        if wait <= 0:
            return 0.0
        if self.watchdog_s is not None:
            wait = min(wait, last_watchdog_s + self.watchdog_s - now)
        if self.pipeline.drifting:
            wait = min(wait, last_frame_s + DRIFT_TICK_S - now)
        return max(wait, 0.0)

    def _update_screen(self, result: FrameResult, nobody_for_s: float) -> None:
        blank_after = self.config.display.blank_after_s
        want_blank = blank_after > 0 and nobody_for_s >= blank_after
        if want_blank != self.blank:
            self.display.set_blank(want_blank)
            self.blank = want_blank
            log.info(
                "screen %s", "blanked: nobody in view" if want_blank else "woke: viewer in view"
            )
        if not self.blank:
            self.display.show(result.frame_index)

    def _report(self, window: _Window, now: float, result: FrameResult) -> None:
        elapsed = max(now - window.started_s, 1e-9)
        fps = window.frames / elapsed
        faces = len(result.faces)
        yaw = self.pack.yaw_deg[result.gaze.yaw_index]
        mode = "tracking" if self.pipeline.finder.following is not None else "searching"
        text = (
            f"{fps:.1f} fps, {window.detections / elapsed:.1f} detections/s "
            f"({window.searches / elapsed:.1f} searches/s), {faces} face(s), {mode}, "
            f"frame {result.frame_index + 1}/{self.pack.n_frames} (yaw {yaw:+.0f}°)"
            + (", screen blank" if self.blank else "")
        )
        self.notifier.status(text)
        log.info(
            text,
            extra={
                "FPS": round(fps, 1),
                "FACES": faces,
                "MODE": mode,
                "FRAME": result.frame_index,
                "YAW_DEG": yaw,
                "SCREEN_BLANK": int(self.blank),
            },
        )
