from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from device.errors import ConfigError
from device.services import config as config_module
from device.services.config import (
    SECTIONS,
    CameraConfig,
    Config,
    DisplayConfig,
    config_from_mapping,
    load_config,
    parse_override,
)

EXAMPLE_CONFIG = Path(__file__).resolve().parents[3] / "systemd" / "config.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_parses_to_exactly_the_defaults() -> None:
    assert load_config(EXAMPLE_CONFIG) == Config()


def test_example_config_sets_every_key_of_every_section() -> None:
    data = tomllib.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    assert list(data) == list(SECTIONS)
    for name, section_class in SECTIONS.items():
        assert list(data[name]) == [f.name for f in dataclasses.fields(section_class)]


def test_sections_match_config_fields() -> None:
    assert list(SECTIONS) == [f.name for f in dataclasses.fields(Config)]
    for name, section_class in SECTIONS.items():
        assert section_class.SECTION == name


def test_missing_default_path_gives_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config_module, "DEFAULT_CONFIG_PATH", tmp_path / "absent.toml")
    assert load_config(None) == Config()


def test_default_path_is_read_when_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[camera]\nsource = 'usb:1'\n")
    monkeypatch.setattr(config_module, "DEFAULT_CONFIG_PATH", path)
    assert load_config(None).camera.source == "usb:1"


def test_default_path_constant() -> None:
    assert Path("/etc/mona-frame/config.toml") == config_module.DEFAULT_CONFIG_PATH


def test_explicit_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="absent.toml: config file not found"):
        load_config(tmp_path / "absent.toml")


def test_unreadable_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_config(tmp_path)  # a directory


def test_partial_file_keeps_other_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[camera]\nfps = 25\nmirror = true\n"))
    assert config.camera == CameraConfig(fps=25.0, mirror=True)
    assert config.gaze == Config().gaze


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "")) == Config()


def test_int_is_accepted_for_float_and_stored_as_float(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[camera]\nfps = 25\n"))
    assert isinstance(config.camera.fps, float)


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[camera]\nwidth = 640\nheight = = 3\n")
    with pytest.raises(ConfigError, match=r"not valid TOML: .*line 3"):
        load_config(path)


def test_non_utf8_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"[camera]\nsource = '\xff'\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_unknown_section_lists_valid_sections(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "[camra]\nfps = 1\n"))
    message = str(info.value)
    assert "'camra'" in message
    assert "did you mean 'camera'" in message
    assert "pack, camera, detector, gaze, display, service" in message


def test_unknown_key_names_it_and_lists_valid_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "[detector]\nthreads = 2\n"))
    message = str(info.value)
    assert "'detector.threads'" in message
    assert "model, model_dir, num_threads, min_score, idle_rate_hz" in message


def test_top_level_key_is_an_unknown_section(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown section: 'fps'"):
        load_config(write(tmp_path, "fps = 30\n"))


def test_section_that_is_not_a_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'camera' must be a \[camera\] section"):
        load_config(write(tmp_path, "camera = 'usb:0'\n"))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[camera]\nfps = 0\n", "camera.fps = 0.0 is not allowed; expected a value > 0"),
        (
            "[camera]\nfps = 'fast'\n",
            "camera.fps = 'fast' is not allowed; expected a finite number",
        ),
        ("[camera]\nfps = nan\n", "camera.fps = nan"),
        ("[camera]\nwidth = 640.0\n", "camera.width = 640.0 is not allowed; expected a whole"),
        ("[camera]\nwidth = true\n", "camera.width = True"),
        ("[camera]\nmirror = 1\n", "camera.mirror = 1 is not allowed; expected true or false"),
        ("[camera]\nsource = 'usb:one'\n", "camera.source = 'usb:one'"),
        ("[camera]\nsource = ''\n", "camera.source = ''"),
        ("[camera]\nhorizontal_fov_deg = 180\n", "expected a value > 0 and < 180"),
        ("[detector]\nmodel = 'long_range'\n", "one of 'short_range', 'full_range'"),
        ("[detector]\nnum_threads = 9\n", "detector.num_threads = 9 is not allowed"),
        ("[detector]\nmin_score = 1.5\n", "expected a value >= 0 and <= 1"),
        ("[detector]\nidle_rate_hz = 0\n", "detector.idle_rate_hz"),
        ("[gaze]\nhysteresis = 0.6\n", "gaze.hysteresis = 0.6"),
        ("[gaze]\nswitch_ratio = 0.9\n", "expected a value >= 1"),
        ("[gaze]\nlost_after_s = -1\n", "gaze.lost_after_s"),
        ("[gaze]\nreturn_speed_deg_s = 0\n", "gaze.return_speed_deg_s"),
        ("[display]\nrotation = 45\n", "one of 0, 90, 180, 270"),
        ("[display]\nborder_color = 'black'\n", "display.border_color = 'black'"),
        ("[display]\nwindow_width = -1\n", "display.window_width = -1"),
        ("[display]\ndriver = 'km sdrm'\n", "display.driver = 'km sdrm'"),
        ("[display]\nblank_after_s = -5\n", "display.blank_after_s"),
        ("[service]\nlog_level = 'verbose'\n", "one of 'debug', 'info', 'warning', 'error'"),
        ("[service]\nstall_timeout_s = 0\n", "service.stall_timeout_s"),
        ("[service]\nstatus_interval_s = -1\n", "service.status_interval_s"),
        ("[pack]\npath = ''\n", "pack.path = ''"),
    ],
)
def test_bad_values_name_key_value_and_allowed(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: ")
    assert fragment in str(info.value)


def test_accepted_edge_values(tmp_path: Path) -> None:
    text = (
        "[camera]\nsource = 'usb:0'\n[detector]\nnum_threads = 8\nmin_score = 0\n"
        "[gaze]\nhysteresis = 0.5\nswitch_ratio = 1\nlost_after_s = 0\n"
        "[display]\nrotation = 270\nborder_color = '#A0b1C2'\ndriver = 'kmsdrm,x11'\n"
        "blank_after_s = 0\n"
    )
    config = load_config(write(tmp_path, text))
    assert config.display.border_rgb == (0xA0, 0xB1, 0xC2)
    assert config.detector.num_threads == 8


def test_border_rgb_of_default() -> None:
    assert DisplayConfig().border_rgb == (0, 0, 0)


def test_model_dir_path() -> None:
    assert Config().detector.model_dir_path is None
    changed = Config().with_overrides({"detector.model_dir": "/opt/models"})
    assert changed.detector.model_dir_path == Path("/opt/models")


def test_dataclasses_are_frozen() -> None:
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.camera.fps = 10.0  # type: ignore[misc]


def test_defaults_are_not_mutated_by_loading(tmp_path: Path) -> None:
    load_config(write(tmp_path, "[camera]\nfps = 12\n"))
    assert CameraConfig().fps == 30.0
    assert Config().camera.fps == 30.0


def test_with_overrides_replaces_and_validates() -> None:
    config = Config().with_overrides({"camera.source": "usb:0", "display.fullscreen": False})
    assert config.camera.source == "usb:0"
    assert config.display.fullscreen is False
    assert config.gaze == Config().gaze
    with pytest.raises(ConfigError, match="camera.fps = -1.0"):
        config.with_overrides({"camera.fps": -1})
    with pytest.raises(ConfigError, match="'camera.sorce'.*did you mean 'source'"):
        config.with_overrides({"camera.sorce": "usb:0"})
    with pytest.raises(ConfigError, match="unknown section: 'video.fps'"):
        config.with_overrides({"video.fps": 1})


def test_dataclasses_replace_validates_too() -> None:
    with pytest.raises(ConfigError, match="display.rotation = 45"):
        dataclasses.replace(DisplayConfig(), rotation=45)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("camera.source=usb:0", ("camera.source", "usb:0")),
        ("camera.fps = 25", ("camera.fps", 25)),
        ("gaze.beta=0.1", ("gaze.beta", 0.1)),
        ("display.fullscreen=false", ("display.fullscreen", False)),
        ('display.border_color="#ffffff"', ("display.border_color", "#ffffff")),
        ("pack.path=/srv/packs/mona", ("pack.path", "/srv/packs/mona")),
    ],
)
def test_parse_override(text: str, expected: tuple[str, object]) -> None:
    assert parse_override(text) == expected


def test_parse_override_applies() -> None:
    config = Config().with_overrides(dict([parse_override("camera.fps=25")]))
    assert config.camera.fps == 25.0


@pytest.mark.parametrize("text", ["camera.fps", "fps=25", "=25"])
def test_parse_override_rejects_malformed(text: str) -> None:
    with pytest.raises(ConfigError, match="section.key=value"):
        parse_override(text)


def test_config_from_mapping() -> None:
    assert config_from_mapping({"gaze": {"beta": 0.1}}).gaze.beta == 0.1


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[detector]\nsearch_tiles = -1\n", "detector.search_tiles = -1"),
        ("[detector]\nsearch_tiles = 13\n", "expected a value >= 0 and <= 12"),
        ("[detector]\nsearch_tiles = 2.5\n", "expected a whole number"),
        ("[detector]\nhead_band_top = 1\n", "detector.head_band_top = 1.0"),
        (
            "[detector]\nhead_band_top = 0.6\nhead_band_bottom = 0.5\n",
            "detector.head_band_bottom = 0.5 is not allowed; expected a value > 0.6",
        ),
        ("[detector]\nhead_band_bottom = 1.2\n", "detector.head_band_bottom = 1.2"),
        ("[detector]\nmax_far_face_px = 0\n", "detector.max_far_face_px = 0"),
        ("[detector]\ntrack_crop_face_widths = 1.5\n", "expected a value >= 2 and <= 10"),
        ("[detector]\nsearch_tile = 3\n", "did you mean 'search_tiles'"),
    ],
)
def test_bad_search_values_name_key_value_and_allowed(
    tmp_path: Path, text: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert fragment in str(info.value)


def test_search_edge_values_and_defaults(tmp_path: Path) -> None:
    text = (
        "[detector]\nsearch_tiles = 0\nhead_band_top = 0\nhead_band_bottom = 1\n"
        "max_far_face_px = 1\ntrack_crop_face_widths = 2\n"
    )
    config = load_config(write(tmp_path, text))
    assert config.detector.search_tiles == 0
    assert config.detector.track_crop_face_widths == 2.0
    defaults = Config()
    assert (defaults.camera.width, defaults.camera.height) == (1280, 720)
    assert defaults.detector.model == "full_range"
