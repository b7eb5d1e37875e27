"""Built-in demo material, generated on the fly so the demo runs on a fresh machine.

- face photos that ship inside packages (scikit-image's astronaut, matplotlib's Grace Hopper);
- a demo frame pack: a package-shipped portrait whose head patch carries each frame's
  number, yaw and an arrow pointing where that frame looks;
- a viewer video: a real face photo walking across a room background in front of the
  camera, then standing still.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from device.errors import MonaFrameError
from device.faces import Face
from device.pack import FramePack, PatchRect, load_pack, write_pack

DEMO_YAW_DEG = tuple(float(a) for a in np.linspace(-30.0, 30.0, 33))
# The head patch spans the face box grown by this much on each side: hair, ears and chin.
HEAD_MARGIN = 0.35
# Camera noise on the generated viewer video (sigma, 8-bit grey levels): real sensors are noisy,
# and a still viewer must not make the eyes flicker despite it.
SENSOR_NOISE_SIGMA = 2.0
DEMO_FPS = 30.0
DEMO_VIDEO_SIZE = (640, 480)  # (width, height) px: the default camera resolution


def face_photo(name: str) -> np.ndarray:
    """A real face photo shipped inside a package, (H, W, 3) uint8 RGB."""
    try:
        if name == "astronaut":
            from skimage import data

            return np.ascontiguousarray(data.astronaut())
        if name == "grace_hopper":
            from matplotlib import cbook

            path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if bgr is None:
                raise MonaFrameError(f"cannot read matplotlib's sample photo {path}")
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    except ImportError as exc:
        raise MonaFrameError(
            f"demo photo {name!r} needs {exc.name}: pip install 'mona-frame[demo]'"
        ) from None
    raise MonaFrameError(f"unknown demo photo {name!r} (valid: 'astronaut', 'grace_hopper')")


def head_rect(face: Face, image_size: tuple[int, int], margin: float = HEAD_MARGIN) -> PatchRect:
    """The face box grown by `margin` of its size on each side, clipped to the image (w, h)."""
    x0, y0, x1, y1 = face.box_px
    dx, dy = margin * (x1 - x0), margin * (y1 - y0)
    left, top = max(int(x0 - dx), 0), max(int(y0 - dy), 0)
    right, bottom = (
        min(int(np.ceil(x1 + dx)), image_size[0]),
        min(int(np.ceil(y1 + dy)), image_size[1]),
    )
    return PatchRect(left, top, right - left, bottom - top)


def _only_face(faces: Sequence[Face], what: str) -> Face:
    if not faces:
        raise MonaFrameError(f"no face found in {what}")
    return max(faces, key=lambda f: f.area_px)


def label_patch(
    patch_rgb: np.ndarray, index: int, yaw_deg: float, yaw_max_deg: float
) -> np.ndarray:
    """A copy of the head patch marked with the frame number and an arrow toward `yaw_deg`.

    The arrow points at the viewer this frame looks at, as a person in front of the
    screen sees it: negative yaw (a viewer on the frame's left) points left.
    """
    out = patch_rgb.copy()
    h, w = out.shape[:2]
    scale = w / 240  # text and arrow in proportion to the head
    cx, cy = w // 2, int(h * 0.85)
    reach = int(0.4 * w * yaw_deg / yaw_max_deg) if yaw_max_deg else 0
    thick = max(int(4 * scale), 1)
    cv2.arrowedLine(out, (cx, cy), (cx + reach, cy), (255, 220, 0), thick, tipLength=0.3)
    text = f"{index:02d}  {yaw_deg:+.0f} deg"
    origin = (int(10 * scale), int(40 * scale))
    # White on a black outline: readable over any painting.
    for colour, weight in (((0, 0, 0), thick + 2), ((255, 255, 255), thick)):
        cv2.putText(out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, weight, cv2.LINE_AA)
    return out


def make_demo_pack(
    out_dir: Path,
    detect: Callable[[np.ndarray], Sequence[Face]],
    photo: str = "astronaut",
    yaw_deg: Sequence[float] = DEMO_YAW_DEG,
    force: bool = False,
) -> Path:
    """Write a labelled demo pack over a package-shipped portrait; returns its path."""
    base = face_photo(photo)
    face = _only_face(detect(base), f"demo photo {photo!r}")
    patch = head_rect(face, (base.shape[1], base.shape[0]))
    original = base[patch.slices]
    yaw_max = max(abs(a) for a in yaw_deg)
    patches = [label_patch(original, i, a, yaw_max) for i, a in enumerate(yaw_deg)]
    provenance = {"method": "demo", "portrait": photo, "note": "labelled frames, no gaze synthesis"}
    return write_pack(out_dir, base, patch, patches, yaw_deg, (0.0,), provenance, force=force)


def load_or_make_demo_pack(
    cache_dir: Path, detect: Callable[[np.ndarray], Sequence[Face]]
) -> FramePack:
    root = cache_dir / "demo-pack"
    if not (root / "pack.json").exists():
        make_demo_pack(root, detect, force=True)
    return load_pack(root)


@dataclass(frozen=True)
class ViewerPath:
    """A viewer's walk in the camera image: normalised x from start to end, then still.

    x is the face centre as a fraction of the image width; 1.0 is the image's right
    edge (the frame's left as a viewer faces it, for an unmirrored camera).
    """

    start_x: float = 0.9
    end_x: float = 0.1
    walk_s: float = 5.0
    still_s: float = 2.0
    centre_y: float = 0.45
    face_width: float = 0.18  # face box width as a fraction of the image width

    def x_at(self, t_s: float) -> float:
        progress = min(max(t_s / self.walk_s, 0.0), 1.0)
        return self.start_x + (self.end_x - self.start_x) * progress

    @property
    def duration_s(self) -> float:
        return self.walk_s + self.still_s


def room_background(size: tuple[int, int], seed: int = 3) -> np.ndarray:
    """A plain room: a wall gradient, a floor, a door and a picture rail. (H, W, 3) uint8."""
    w, h = size
    rng = np.random.default_rng(seed)
    yy = np.linspace(0.0, 1.0, h)[:, None]
    wall = np.stack([200 - 40 * yy, 190 - 40 * yy, 170 - 50 * yy], axis=-1) * np.ones((1, w, 1))
    img = wall.astype(np.float32)
    img[int(0.8 * h) :] = (120, 90, 60)
    cv2.rectangle(
        img, (int(0.05 * w), int(0.25 * h)), (int(0.2 * w), int(0.8 * h)), (150, 120, 90), -1
    )
    cv2.line(img, (0, int(0.2 * h)), (w, int(0.2 * h)), (110, 100, 90), max(h // 120, 1))
    texture = cv2.GaussianBlur(rng.normal(0, 6, (h, w, 1)).astype(np.float32), (0, 0), 3)[..., None]
    return np.clip(img + texture, 0, 255).astype(np.uint8)


def face_sprite(
    photo_rgb: np.ndarray, face: Face, margin: float = 0.6
) -> tuple[np.ndarray, np.ndarray, float]:
    """Head cut out of a photo with a soft elliptical mask.

    Returns (rgb (h, w, 3) uint8, alpha (h, w) float32 in [0, 1], face box width as a
    fraction of the sprite width).
    """
    rect = head_rect(face, (photo_rgb.shape[1], photo_rgb.shape[0]), margin)
    rgb = photo_rgb[rect.slices].copy()
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    fx, fy = face.center_px[0] - rect.x, face.center_px[1] - rect.y
    r = np.sqrt(((xx - fx) / (0.5 * w)) ** 2 + ((yy - fy) / (0.5 * h)) ** 2)
    alpha = np.clip((1.0 - r) / 0.25, 0.0, 1.0).astype(np.float32)
    return rgb, alpha, face.width_px / w


def render_viewer_frame(
    background: np.ndarray,
    sprite: tuple[np.ndarray, np.ndarray, float],
    path: ViewerPath,
    t_s: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """One camera frame at time `t_s`: the sprite pasted on the background, plus sensor noise."""
    rgb, alpha, face_frac = sprite
    h, w = background.shape[:2]
    sprite_w = max(int(path.face_width * w / face_frac), 8)
    sprite_h = max(int(rgb.shape[0] * sprite_w / rgb.shape[1]), 8)
    rgb_s = cv2.resize(rgb, (sprite_w, sprite_h), interpolation=cv2.INTER_AREA).astype(np.float32)
    a_s = cv2.resize(alpha, (sprite_w, sprite_h), interpolation=cv2.INTER_AREA)[..., None]
    cx, cy = path.x_at(t_s) * w, path.centre_y * h
    x0, y0 = int(round(cx - sprite_w / 2)), int(round(cy - sprite_h / 2))
    frame = background.astype(np.float32)
    fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + sprite_w, w), min(y0 + sprite_h, h)
    if fx1 > fx0 and fy1 > fy0:
        sx0, sy0 = fx0 - x0, fy0 - y0
        src = rgb_s[sy0 : sy0 + fy1 - fy0, sx0 : sx0 + fx1 - fx0]
        a = a_s[sy0 : sy0 + fy1 - fy0, sx0 : sx0 + fx1 - fx0]
        frame[fy0:fy1, fx0:fx1] = a * src + (1 - a) * frame[fy0:fy1, fx0:fx1]
    frame += rng.normal(0.0, SENSOR_NOISE_SIGMA, frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)


def write_viewer_video(
    out_path: Path,
    detect: Callable[[np.ndarray], Sequence[Face]],
    photo: str = "astronaut",
    path: ViewerPath = ViewerPath(),
    size: tuple[int, int] = DEMO_VIDEO_SIZE,
    fps: float = DEMO_FPS,
    seed: int = 0,
) -> Path:
    """Write an mp4 of a real face photo walking along `path`; returns the path."""
    photo_rgb = face_photo(photo)
    sprite = face_sprite(photo_rgb, _only_face(detect(photo_rgb), f"demo photo {photo!r}"))
    background = room_background(size)
    rng = np.random.default_rng(seed)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp.mp4")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise MonaFrameError(f"{out_path}: cannot write an mp4 video here")
    try:
        for i in range(int(round(path.duration_s * fps))):
            frame = render_viewer_frame(background, sprite, path, i / fps, rng)
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    os.replace(tmp, out_path)
    return out_path
