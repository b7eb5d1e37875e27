"""Viewing-distance benchmark: how far away each detection strategy finds a viewer.

Real face photos shipped in packages (scikit-image's astronaut, matplotlib's Grace
Hopper; scikit-image's cameraman, a profile, for information) are placed at the pixel
size a 0.15 m face has at 0.5 to 6 m from the camera (pinhole geometry, device/optics.py;
Camera Module 3 by default: 1280x720, 66°), left to right across the frame, on a room
and on a brick wall. For each strategy it prints:

  - the farthest distance up to which every frontal photo at every position is found
    at the right place by a search (and by tracking, starting from the true face);
  - false detections on face-free photos, and detections that are not the face on
    the face frames;
  - the median cost of one frame in search mode and in tracking mode, in bare
    invoke()s of the same model (the detection path only: letterbox, invoke, decode,
    NMS, merging). A search is timed against bare invokes run between the searches, a
    track against its own invoke, so a busy moment on a shared machine skews neither.

    python bench/range.py [--width 1280 --height 720 --fov-deg 66] [--threads N]

Goal for the frame's default strategy: >= 4 m, 0 false detections, tracking <= 1.5 invokes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from device import demo, optics, scenes
from device.detector import BlazeFaceDetector
from device.faces import Face
from device.finder import FaceFinder
from device.search import SearchSettings, search_layout

DISTANCES_M = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0)
# Face centres across the frame, as fractions of its width; with the default 4 tiles
# at 1280 px, the three middle ones fall in the overlaps between tiles.
POSITIONS = {"left": 0.12, "left-centre": 0.35, "centre": 0.5, "right-centre": 0.65, "right": 0.88}
# A near face is kept inside the frame: its centre at least this many face widths in.
EDGE_MARGIN_FACES = 0.6
GOALS = {"range_m": 4.0, "false": 0.0, "track_cost": 1.5}
BACKGROUNDS = ("room", "brick wall")


@dataclass(frozen=True)
class Case:
    distance_m: float
    photo: str
    position: str
    background: str
    frame: np.ndarray
    truth_px: tuple[float, float, float, float]


@dataclass(frozen=True)
class Strategy:
    name: str
    model: str
    search: SearchSettings | None  # None: the seed's whole-frame detection, every frame
    frame_scale: float = 1.0  # the seed saw a 640-px-wide frame


def backgrounds(size: tuple[int, int]) -> dict[str, np.ndarray]:
    """The walls the photos are placed on: a generated room, and a real brick wall."""
    from skimage import data

    brick = np.ascontiguousarray(np.dstack([data.brick()] * 3))
    walls = {"room": demo.room_background(size), "brick wall": scenes.cover(brick, size)}
    assert tuple(walls) == BACKGROUNDS
    return walls


def face_free_frames(size: tuple[int, int]) -> dict[str, np.ndarray]:
    from skimage import data

    rng = np.random.default_rng(7)
    grey = {"gravel": data.gravel(), "grass": data.grass(), "brick": data.brick()}
    photos = {
        "coffee": data.coffee(),
        "rocket": data.rocket(),
        "chelsea (a cat)": data.chelsea(),
        **{name: np.dstack([img] * 3) for name, img in grey.items()},
    }
    frames = {name: scenes.cover(np.ascontiguousarray(img), size) for name, img in photos.items()}
    for seed in (1, 2):
        room = demo.room_background(size, seed=seed).astype(np.float32)
        noisy = room + rng.normal(0, demo.SENSOR_NOISE_SIGMA, room.shape)
        frames[f"room {seed}"] = np.clip(noisy, 0, 255).astype(np.uint8)
    return frames


def make_cases(args: argparse.Namespace) -> list[Case]:
    size = (args.width, args.height)
    rng = np.random.default_rng(0)
    cases = []
    for bg_name, bg in backgrounds(size).items():
        for photo in scenes.PHOTOS.values():
            image = photo.load()
            for distance in args.distances:
                width = optics.face_width_px(distance, args.width, args.fov_deg, args.face_width_m)
                rise = optics.offset_px(
                    args.face_height_m - args.camera_height_m, distance, args.width, args.fov_deg
                )
                cy = args.height / 2 - rise
                for position, fraction in POSITIONS.items():
                    margin = EDGE_MARGIN_FACES * width
                    cx = min(max(fraction * args.width, margin), args.width - margin)
                    frame, truth = scenes.place_face(bg, image, photo.box_px, width, (cx, cy), rng)
                    cases.append(Case(distance, photo.name, position, bg_name, frame, truth))
    return cases


def timed(call: Callable[..., list[Face]], *args: Any) -> tuple[list[Face], float]:
    """call(*args) and how long it took, in seconds."""
    start = time.perf_counter()
    faces = call(*args)
    return faces, time.perf_counter() - start


def bare_invoke_s(detector: BlazeFaceDetector) -> float:
    """One bare invoke() on the input already set (its duration, s)."""
    detector.invoke()
    return detector.invoke_seconds


def reach_m(found: dict[float, bool]) -> float:
    """The farthest distance up to which everything was found (0 if not even the nearest)."""
    reach = 0.0
    for distance in sorted(found):
        if not found[distance]:
            break
        reach = distance
    return reach


@dataclass(frozen=True)
class Result:
    """One strategy's figures. searched/tracked: (photo, distance_m) → every position and
    background found; extra: detections on face frames that are not the face; false:
    detections per face-free frame; costs in bare invokes of the same model."""

    searched: dict[tuple[str, float], bool]
    tracked: dict[tuple[str, float], bool]
    extra: int
    false: dict[str, int]
    invoke_ms: float
    search_cost: float
    track_cost: float

    @property
    def false_total(self) -> int:
        return sum(self.false.values())


def evaluate(
    strategy: Strategy,
    detector: BlazeFaceDetector,
    cases: list[Case],
    empty: dict[str, np.ndarray],
) -> Result:
    scale = strategy.frame_scale
    finder = FaceFinder(detector, strategy.search) if strategy.search is not None else None

    def search(frame: np.ndarray, small: np.ndarray) -> list[Face]:
        if finder is not None:
            return list(finder.search(frame).faces)
        return [rescale(f, 1 / scale) for f in detector.detect(small)]

    def track(frame: np.ndarray, small: np.ndarray, last: Face) -> list[Face]:
        if finder is not None:
            return list(finder.track(frame, last).faces)
        return search(frame, small)  # the seed detected the whole frame every time

    for frame in list(empty.values())[:3]:  # warm-up: XNNPACK packs weights on first use
        search(frame, shrink(frame, scale))
    search_s: list[float] = []
    bare_s: list[float] = []  # bare invokes interleaved with the searches
    track_ratios: list[float] = []  # each track against its own invoke
    extra = 0
    searched: dict[tuple[str, float], bool] = {}
    tracked: dict[tuple[str, float], bool] = {}
    for case in cases:
        small = shrink(case.frame, scale)
        key = (case.photo, case.distance_m)
        faces, seconds = timed(search, case.frame, small)
        search_s.append(seconds)
        bare_s.append(bare_invoke_s(detector))
        extra += sum(not scenes.matches(f.box_px, case.truth_px) for f in faces)
        searched[key] = searched.get(key, True) and found(faces, case)
        # Tracking starts from the true face, as if the last frame had found it there.
        last = Face(case.truth_px, ((0.0, 0.0),) * 6, 1.0)
        faces, seconds = timed(track, case.frame, small, last)
        track_ratios.append(seconds / detector.invoke_seconds)  # a track is one invoke
        tracked[key] = tracked.get(key, True) and found(faces, case)
    false = {name: len(search(frame, shrink(frame, scale))) for name, frame in empty.items()}
    invoke = statistics.median(bare_s)
    return Result(
        searched=searched,
        tracked=tracked,
        extra=extra,
        false=false,
        invoke_ms=invoke * 1e3,
        search_cost=statistics.median(search_s) / invoke,
        track_cost=statistics.median(track_ratios),
    )


def found(faces: list[Face], case: Case) -> bool:
    return any(scenes.matches(f.box_px, case.truth_px) for f in faces)


def shrink(frame: np.ndarray, scale: float) -> np.ndarray:
    """The frame as a camera of `scale` times its width would deliver it."""
    if scale == 1.0:
        return frame
    size = (round(frame.shape[1] * scale), round(frame.shape[0] * scale))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def rescale(face: Face, factor: float) -> Face:
    x0, y0, x1, y1 = (v * factor for v in face.box_px)
    points = tuple((x * factor, y * factor) for x, y in face.keypoints_px)
    return Face((x0, y0, x1, y1), points, face.score)


def photo_reach(found: dict[tuple[str, float], bool], photos: list[str]) -> float:
    """Farthest distance up to which every one of `photos` was found everywhere."""
    distances = {d for _, d in found}
    return reach_m({d: all(found[(p, d)] for p in photos) for d in distances})


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def format_report(
    args: argparse.Namespace,
    strategies: list[Strategy],
    results: list[Result],
    n_frames: int,
    n_empty: int,
) -> str:
    """The benchmark's figures as text: a header, a Markdown table and the verdicts."""
    frontal = [p.name for p in scenes.PHOTOS.values() if p.looks_at_camera]
    profile = [p.name for p in scenes.PHOTOS.values() if not p.looks_at_camera]
    lines = [
        f"viewing-distance benchmark: {args.width}x{args.height} frames, {args.fov_deg:g}° "
        f"field of view, {args.face_width_m:g} m faces at {min(args.distances):g}-"
        f"{max(args.distances):g} m; {', '.join(frontal)} at {len(POSITIONS)} positions on "
        f"{len(BACKGROUNDS)} backgrounds ({n_frames} frames); {n_empty} face-free frames; "
        f"{args.threads} thread(s)",
        "",
        "| strategy | runs per search | smallest face found | farthest viewer, search "
        "| farthest viewer, tracking | false detections (face-free) | other detections "
        "(face frames) | search cost | tracking cost |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s, r in zip(strategies, results, strict=True):
        runs = 1
        if s.search is not None:
            runs = len(search_layout(args.width, args.height, s.search).regions_px)
        far = photo_reach(r.searched, frontal)
        smallest = optics.face_width_px(far, args.width, args.fov_deg, args.face_width_m)
        lines.append(
            f"| {s.name} | {runs} | {smallest if far else 0:.0f} px | {far:g} m "
            f"| {photo_reach(r.tracked, frontal):g} m | {r.false_total} | {r.extra} "
            f"| {r.search_cost:.2f} × {r.invoke_ms:.2f} ms | {r.track_cost:.2f} × invoke |"
        )
    default = results[-1]
    per_photo = ", ".join(f"{name} {photo_reach(default.searched, [name]):g} m" for name in frontal)
    lines += ["", f"default strategy, farthest viewer per photo: {per_photo}"]
    lines.append(f"profile ({', '.join(profile)}, not looking at the frame; for information):")
    for s, r in zip(strategies, results, strict=True):
        lines.append(
            f"  {s.name}: search {photo_reach(r.searched, profile):g} m, "
            f"tracking {photo_reach(r.tracked, profile):g} m"
        )
    far = photo_reach(default.searched, frontal)
    lines += [
        "",
        "default strategy: "
        + "; ".join(
            [
                f"range {far:g} m (goal >= {GOALS['range_m']:g}): "
                + verdict(far >= GOALS["range_m"]),
                f"false detections {default.false_total} (goal {GOALS['false']:g}): "
                + verdict(default.false_total <= GOALS["false"]),
                f"tracking cost {default.track_cost:.2f} invokes (goal <= "
                f"{GOALS['track_cost']:g}): " + verdict(default.track_cost <= GOALS["track_cost"]),
            ]
        ),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1280, help="frame width, px")
    parser.add_argument("--height", type=int, default=720, help="frame height, px")
    parser.add_argument("--fov-deg", type=float, default=66.0, help="horizontal field of view")
    parser.add_argument("--face-width-m", type=float, default=optics.FACE_WIDTH_M)
    parser.add_argument("--camera-height-m", type=float, default=1.5, help="camera above floor")
    parser.add_argument("--face-height-m", type=float, default=1.6, help="face centre above floor")
    parser.add_argument(
        "--distances",
        type=lambda s: [float(v) for v in s.split(",")],
        default=DISTANCES_M,
        help="comma-separated distances in m",
    )
    parser.add_argument("--threads", type=int, default=1, help="detector threads")
    args = parser.parse_args(argv)

    size = (args.width, args.height)
    cases = make_cases(args)
    empty = face_free_frames(size)
    default = SearchSettings()
    strategies = [
        Strategy("seed: short range, whole 640-px frame", "short_range", None, 640 / args.width),
        Strategy("full range, whole frame", "full_range", SearchSettings(tiles=0)),
        Strategy("full range, whole frame + 3 tiles", "full_range", SearchSettings(tiles=3)),
        Strategy(
            f"full range, whole frame + {default.tiles} tiles (default)", "full_range", default
        ),
    ]
    detectors = {
        m: BlazeFaceDetector(m, num_threads=args.threads) for m in ("short_range", "full_range")
    }
    try:
        results = [evaluate(s, detectors[s.model], cases, empty) for s in strategies]
    finally:
        for d in detectors.values():
            d.close()
    print(format_report(args, strategies, results, len(cases), len(empty)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
