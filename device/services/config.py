"""The device's configuration: one TOML file, one frozen dataclass per section.

    [pack]      PackConfig       where the frame pack lives
    [camera]    CameraConfig     which camera, its size, rate and field of view
    [detector]  DetectorConfig   which BlazeFace model, how it runs, searches and tracks
    [gaze]      GazeConfig       smoothing and viewer-switching of the eyes
    [display]   DisplayConfig    SDL driver, window, rotation, blanking
    [service]   ServiceConfig    status/stall timing and the log level

`load_config()` reads and validates the file once, at start; every section and key
may be left out (it then keeps its default). `systemd/config.toml` documents every
key with its default. Unknown sections or keys, wrong types and out-of-range values
raise ConfigError naming `section.key`, the bad value and what is allowed.

Each dataclass validates itself in `__post_init__`, so a changed copy is checked as
well. For command-line overrides use `Config.with_overrides({"camera.source":
"usb:0"})` (dotted keys, same checks and messages as the file), `parse_override()`
for "section.key=value" text, or `dataclasses.replace(config.camera, source=...)`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import operator
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from device.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("/etc/mona-frame/config.toml")
LOG_LEVELS = ("debug", "info", "warning", "error")
DETECTOR_MODELS = ("short_range", "full_range")
ROTATIONS_DEG = (0, 90, 180, 270)
MAX_DETECTOR_THREADS = 8  # a Pi has 4 cores; more threads than 8 only adds contention
# Each search tile costs one more detector run per search. 12 tiles across a 1280-px
# frame are ~270 px and find ~18 px faces (~8 m, beyond any room) for 13 runs a search.
MAX_SEARCH_TILES = 12
# The tracking crop must hold the face and room to move: below 2 face widths a viewer
# walking past leaves it between two frames; above 10 the face is too small in it.
TRACK_CROP_FACE_WIDTHS_RANGE = (2.0, 10.0)
_USB_SOURCE = re.compile(r"usb:\d+")
_HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
# SDL_VIDEODRIVER accepts one driver name or a comma-separated list of them.
_SDL_DRIVERS = re.compile(r"[A-Za-z0-9_]+(,[A-Za-z0-9_]+)*")
_TYPE_NAMES = {
    str: "a string",
    int: "a whole number",
    float: "a finite number",
    bool: "true or false",
}


@dataclass(frozen=True)
class PackConfig:
    """[pack]: path is the frame-pack directory (see docs/pack-format.md)."""

    SECTION: ClassVar[str] = "pack"
    path: str = "/var/lib/mona-frame/pack"

    def __post_init__(self) -> None:
        _check_types(self)
        _require(self, "path", self.path != "", "a non-empty directory path")


@dataclass(frozen=True)
class CameraConfig:
    """[camera]: source is "picamera2", "usb:N", "/dev/videoN" or a video file.

    width/height in px, fps in frames per second; mirror flips left-right;
    horizontal_fov_deg is the lens's horizontal field of view in degrees; loop and
    realtime only apply to video files.
    """

    SECTION: ClassVar[str] = "camera"
    source: str = "picamera2"
    # 1280x720: large enough for a face 5 m away to be ~30 px wide (bench/range.py).
    width: int = 1280
    height: int = 720
    fps: float = 30.0
    mirror: bool = False
    horizontal_fov_deg: float = 66.0  # Raspberry Pi Camera Module 3 (standard lens)
    loop: bool = False
    realtime: bool = True

    def __post_init__(self) -> None:
        _check_types(self)
        allowed = '"picamera2", "usb:N" (N = 0, 1, ...), "/dev/videoN" or a video file path'
        ok = self.source != "" and (
            not self.source.startswith("usb:") or _USB_SOURCE.fullmatch(self.source) is not None
        )
        _require(self, "source", ok, allowed)
        _check_range(self, "width", gt=0)
        _check_range(self, "height", gt=0)
        _check_range(self, "fps", gt=0)
        _check_range(self, "horizontal_fov_deg", gt=0, lt=180)


@dataclass(frozen=True)
class DetectorConfig:
    """[detector]: the BlazeFace model, how it runs, searches the room and tracks a viewer.

    model_dir "" means the models/ folder of this installation; idle_rate_hz is the
    search rate while nobody is in view. A search runs the model on the whole frame and
    on search_tiles square tiles across the band from head_band_top to head_band_bottom
    (fractions of the frame height from the top), overlapping so that a face up to
    max_far_face_px wide is whole in one. Tracking runs it on one crop
    track_crop_face_widths face widths wide. See device/search.py.
    """

    SECTION: ClassVar[str] = "detector"
    model: str = "full_range"
    model_dir: str = ""
    num_threads: int = 1
    min_score: float = 0.5
    idle_rate_hz: float = 1.0
    search_tiles: int = 4
    head_band_top: float = 0.2
    head_band_bottom: float = 0.75
    max_far_face_px: int = 120
    track_crop_face_widths: float = 4.0

    def __post_init__(self) -> None:
        _check_types(self)
        _check_choice(self, "model", DETECTOR_MODELS)
        _check_range(self, "num_threads", ge=1, le=MAX_DETECTOR_THREADS)
        _check_range(self, "min_score", ge=0, le=1)
        _check_range(self, "idle_rate_hz", gt=0)
        _check_range(self, "search_tiles", ge=0, le=MAX_SEARCH_TILES)
        _check_range(self, "head_band_top", ge=0, lt=1)
        _check_range(self, "head_band_bottom", gt=self.head_band_top, le=1)
        _check_range(self, "max_far_face_px", ge=1)
        low, high = TRACK_CROP_FACE_WIDTHS_RANGE
        _check_range(self, "track_crop_face_widths", ge=low, le=high)

    @property
    def model_dir_path(self) -> Path | None:
        """model_dir as a Path, or None for the installation's models/ folder."""
        return Path(self.model_dir) if self.model_dir else None


@dataclass(frozen=True)
class GazeConfig:
    """[gaze]: One-Euro filter (Hz), viewer switching and the drift back to centre."""

    SECTION: ClassVar[str] = "gaze"
    min_cutoff_hz: float = 0.5
    beta: float = 0.02
    d_cutoff_hz: float = 1.0
    hysteresis: float = 0.35
    switch_ratio: float = 1.5
    lost_after_s: float = 0.5
    return_to_centre_s: float = 3.0
    return_speed_deg_s: float = 20.0

    def __post_init__(self) -> None:
        _check_types(self)
        _check_range(self, "min_cutoff_hz", gt=0)
        _check_range(self, "beta", ge=0)
        _check_range(self, "d_cutoff_hz", gt=0)
        _check_range(self, "hysteresis", ge=0, le=0.5)
        _check_range(self, "switch_ratio", ge=1)
        _check_range(self, "lost_after_s", ge=0)
        _check_range(self, "return_to_centre_s", ge=0)
        _check_range(self, "return_speed_deg_s", gt=0)


@dataclass(frozen=True)
class DisplayConfig:
    """[display]: SDL driver ("" lets SDL choose), window size in px (0 = screen),
    rotation in degrees, border colour "#rrggbb", blanking after s (0 = never)."""

    SECTION: ClassVar[str] = "display"
    driver: str = ""
    fullscreen: bool = True
    window_width: int = 0
    window_height: int = 0
    rotation: int = 0
    border_color: str = "#000000"
    blank_after_s: float = 300.0

    def __post_init__(self) -> None:
        _check_types(self)
        ok = self.driver == "" or _SDL_DRIVERS.fullmatch(self.driver) is not None
        _require(self, "driver", ok, '"" or an SDL video driver name such as "kmsdrm"')
        _check_range(self, "window_width", ge=0)
        _check_range(self, "window_height", ge=0)
        _check_choice(self, "rotation", ROTATIONS_DEG)
        ok = _HEX_COLOR.fullmatch(self.border_color) is not None
        _require(self, "border_color", ok, 'a colour "#rrggbb" such as "#000000"')
        _check_range(self, "blank_after_s", ge=0)

    @property
    def border_rgb(self) -> tuple[int, int, int]:
        """border_color as (r, g, b), each 0..255."""
        value = int(self.border_color[1:], 16)
        return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF


@dataclass(frozen=True)
class ServiceConfig:
    """[service]: STATUS= interval (s), camera stall timeout (s) and the log level."""

    SECTION: ClassVar[str] = "service"
    status_interval_s: float = 5.0
    stall_timeout_s: float = 2.0
    log_level: str = "info"

    def __post_init__(self) -> None:
        _check_types(self)
        _check_range(self, "status_interval_s", gt=0)
        _check_range(self, "stall_timeout_s", gt=0)
        _check_choice(self, "log_level", LOG_LEVELS)


@dataclass(frozen=True)
class Config:
    """The whole configuration; every section defaults to its dataclass's defaults."""

    pack: PackConfig = field(default_factory=PackConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    gaze: GazeConfig = field(default_factory=GazeConfig)
    display: DisplayConfig = field(default_factory=DisplayConfig)
    service: ServiceConfig = field(default_factory=ServiceConfig)

    def with_overrides(self, overrides: Mapping[str, object]) -> Config:
        """A copy with {"section.key": value} applied, validated like the file."""
        by_section: dict[str, dict[str, object]] = {}
        for dotted, value in overrides.items():
            section, _, key = dotted.partition(".")
            _known(section, tuple(SECTIONS), "section", dotted)
            _known(key, _field_names(SECTIONS[section]), f"key in [{section}]", dotted)
            by_section.setdefault(section, {})[key] = value
        changes = {
            section: dataclasses.replace(getattr(self, section), **values)
            for section, values in by_section.items()
        }
        return dataclasses.replace(self, **changes)


SECTIONS: dict[str, type[Any]] = {
    "pack": PackConfig,
    "camera": CameraConfig,
    "detector": DetectorConfig,
    "gaze": GazeConfig,
    "display": DisplayConfig,
    "service": ServiceConfig,
}


def load_config(path: Path | None = None) -> Config:
    """Read and validate a config file.

    path None: DEFAULT_CONFIG_PATH if it exists, else all defaults. A path that is
    given but missing, unreadable, not TOML or holding bad keys raises ConfigError.
    """
    explicit = path is not None
    path = DEFAULT_CONFIG_PATH if path is None else path
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if not explicit:
            return Config()
        raise ConfigError(
            f"{path}: config file not found; copy systemd/config.toml there, "
            "or leave out --config to use the defaults"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (bad byte at offset {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return config_from_mapping(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def config_from_mapping(data: Mapping[str, Any]) -> Config:
    """A Config from parsed TOML: {section: {key: value}}; missing ones keep defaults."""
    sections: dict[str, Any] = {}
    for name, values in data.items():
        _known(name, tuple(SECTIONS), "section", name)
        if not isinstance(values, Mapping):
            raise ConfigError(f"{name!r} must be a [{name}] section of keys, got {values!r}")
        section_class = SECTIONS[name]
        for key in values:
            _known(key, _field_names(section_class), f"key in [{name}]", f"{name}.{key}")
        sections[name] = section_class(**values)
    return Config(**sections)


def parse_override(text: str) -> tuple[str, object]:
    """Split "section.key=value" into ("section.key", value) for Config.with_overrides.

    The value is read as a TOML value (25, 2.5, true, "x"); anything that is not
    valid TOML is taken as a bare string, so camera.source=usb:0 needs no quotes.
    """
    dotted, sep, value_text = text.partition("=")
    dotted = dotted.strip()
    if not sep or "." not in dotted:
        raise ConfigError(
            f"override {text!r} is not of the form section.key=value (e.g. camera.fps=25)"
        )
    try:
        value: object = tomllib.loads(f"value = {value_text.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        value = value_text.strip()
    return dotted, value


def _field_names(section_class: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(section_class))


def _known(name: str, valid: tuple[str, ...], what: str, shown: str) -> None:
    if name in valid:
        return
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown {what}: {shown!r}{hint}; valid: {', '.join(valid)}")


def _check_types(section: Any) -> None:
    """Check each field's type; ints become floats where a float is wanted."""
    for f in dataclasses.fields(section):
        value = getattr(section, f.name)
        expected = {"str": str, "int": int, "float": float, "bool": bool}[str(f.type)]
        is_bool = isinstance(value, bool)
        if expected is bool:
            ok = is_bool
        elif expected is float:
            ok = isinstance(value, int | float) and not is_bool and math.isfinite(value)
        else:
            ok = isinstance(value, expected) and not (is_bool and expected is int)
        _require(section, f.name, ok, _TYPE_NAMES[expected])
        if expected is float and not isinstance(value, float):
            object.__setattr__(section, f.name, float(value))


def _check_range(
    section: Any,
    key: str,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
) -> None:
    value = getattr(section, key)
    tests = (
        (gt, ">", operator.gt),
        (ge, ">=", operator.ge),
        (lt, "<", operator.lt),
        (le, "<=", operator.le),
    )
    active = [(limit, symbol, test) for limit, symbol, test in tests if limit is not None]
    ok = all(test(value, limit) for limit, _, test in active)
    limits = " and ".join(f"{symbol} {limit:g}" for limit, symbol, _ in active)
    _require(section, key, ok, f"a value {limits}")


def _check_choice(section: Any, key: str, choices: tuple[object, ...]) -> None:
    allowed = "one of " + ", ".join(repr(c) for c in choices)
    _require(section, key, getattr(section, key) in choices, allowed)


def _require(section: Any, key: str, ok: bool, allowed: str) -> None:
    if not ok:
        value = getattr(section, key)
        raise ConfigError(f"{section.SECTION}.{key} = {value!r} is not allowed; expected {allowed}")
