"""Shared fixtures for the build step's tests: the package-shipped photos, analysed once.

Everything here is a fixture (no autouse), so the FOMM tests below tests/build_frames/fomm
are unaffected. Fixtures that need the .tflite models skip when they are not fetched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from build_frames import blend, synthesis
from build_frames.analysis import FaceAnalysis
from build_frames.image_io import Portrait, read_portrait
from device.errors import ModelError
from device.models import model_path

MODELS = ("short_range", "full_range", "face_landmark", "iris_landmark")


def models_present() -> bool:
    try:
        for name in MODELS:
            model_path(name)
    except ModelError:
        return False
    return True


@pytest.fixture(scope="session")
def bf_models() -> None:
    """Skip unless the four models are fetched (`python models/fetch_models.py`)."""
    if not models_present():
        pytest.skip("models not fetched; run `python models/fetch_models.py`")


@dataclass(frozen=True)
class Analysed:
    portrait: Portrait
    analysis: FaceAnalysis

    @property
    def image(self) -> np.ndarray:
        return self.portrait.rgb

    def synthesis(self, head_turn_deg: float = 0.0) -> synthesis.EyesSynthesis:
        spec = blend.alpha_spec("ellipse", None, None, None, synthesis.head_box(self.analysis))
        return synthesis.EyesSynthesis(self.image, self.analysis, spec, head_turn_deg, (-30, 30))


def _analyse(name: str) -> Analysed:
    pytest.importorskip("skimage" if name == "astronaut" else "matplotlib")
    from build_frames.cmd_eyes import analyse_portrait

    portrait = read_portrait(f"builtin:{name}")
    return Analysed(portrait, analyse_portrait(portrait, None, show_progress=False))


@pytest.fixture(scope="session")
def grace_hopper(bf_models: None) -> Analysed:
    return _analyse("grace_hopper")


@pytest.fixture(scope="session")
def astronaut(bf_models: None) -> Analysed:
    return _analyse("astronaut")


@pytest.fixture(scope="session", params=["astronaut", "grace_hopper"])
def photo(request: pytest.FixtureRequest, bf_models: None) -> Analysed:
    return _analyse(request.param)
