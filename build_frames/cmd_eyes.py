"""`build-frames eyes PORTRAIT --out PACK`: gaze frames at the portrait's own resolution."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from build_frames import analysis, cli, geometry, packing, progress, synthesis
from build_frames.image_io import Portrait, read_portrait
from build_frames.landmarks import LandmarkModels
from device.models import load_manifest
from device.pack import check_destination

# The analysis step's stages, for its progress bar.
ANALYSIS_STAGES = ("find faces", "face mesh", "eyes and irises")


def default_detector(name: str) -> Any:
    from device.detector import BlazeFaceDetector

    return BlazeFaceDetector(model=name)


def analyse_portrait(
    portrait: Portrait,
    face_number: int | None,
    show_progress: bool,
    make_detector: Callable[[str], Any] = default_detector,
) -> analysis.FaceAnalysis:
    """Detect, choose and analyse the face; notes about the choice go to stderr."""
    image = portrait.rgb
    with progress.bar(len(ANALYSIS_STAGES), "analyse", show_progress, unit="step") as bar:
        faces = analysis.detect_faces(image, make_detector)
        bar.update(1)
        face, number, message = analysis.choose_face(faces, face_number)
        if message:
            cli.note(message)
        with LandmarkModels() as models:
            return analysis.analyse_face(
                image, face, number, len(faces), models, on_stage=lambda: bar.update(1)
            )


def analysis_record(
    result: analysis.FaceAnalysis, synth: synthesis.EyesSynthesis
) -> dict[str, Any]:
    """What the analysis found, for the pack's provenance."""
    return {
        "face_number": result.number,
        "faces_found": result.n_faces,
        "face_box_px": [round(v, 1) for v in result.face_box_px],
        "original_yaw_deg": round(synth.original_yaw_deg, 2),
        "eyeball_radius_px": round(synth.eyeball_radius_px, 2),
        "irises": [
            {
                "eye": e.subject_side,
                "centre_px": [round(float(v), 1) for v in e.iris_centre_px],
                "radius_px": round(e.iris_radius_px, 2),
            }
            for e in result.eyes
        ],
    }


def model_checksums() -> dict[str, str]:
    models = load_manifest()["models"]
    return {
        n: models[n]["sha256"]
        for n in ("short_range", "full_range", "face_landmark", "iris_landmark")
        if n in models
    }


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    show = not args.no_progress
    check_destination(args.out, args.force)  # refuse at once, not after the work
    table = synthesis.gaze_table(args.frames, args.yaw_range, args.pitch_range, args.pitch_rows)
    portrait = read_portrait(args.portrait)
    for message in portrait.notes:
        cli.note(f"{args.portrait}: {message}")
    cli.check_alpha_centre(args, portrait.size)  # before the analysis's seconds
    result = analyse_portrait(portrait, args.face, show)
    spec = cli.alpha_from_args(args, synthesis.head_box(result), portrait.size)
    synth = synthesis.EyesSynthesis(
        portrait.rgb, result, spec, args.head_turn, (table.yaw_deg[0], table.yaw_deg[-1])
    )
    frames = [
        synth.frame(yaw, pitch)
        for yaw, pitch in progress.each(table.cells(), table.n_frames, "frames", show)
    ]
    parameters = {
        "frames": len(table.yaw_deg),
        "yaw_range_deg": list(args.yaw_range),
        "pitch_range_deg": list(args.pitch_range),
        "pitch_rows": args.pitch_rows,
        "head_turn_deg": args.head_turn,
        "face": args.face,
        "alpha": cli.alpha_parameters(spec),
    }
    prov = packing.provenance(
        "eyes",
        portrait,
        parameters,
        {
            "analysis": analysis_record(result, synth),
            "models_sha256": model_checksums(),
        },
    )
    fallback = geometry.rect_union([layer.rect for layer in synth.layers])
    packing.write_and_report(
        args.out, portrait.rgb, frames, table.yaw_deg, table.pitch_deg, fallback, prov,
        args.force, show, start,
    )
    return 0
