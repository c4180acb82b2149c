"""The sound floating-point sampler (Voráček & Hein, ICLR 2023) as a Cohen run option: the spec stores it as flat
JSON fields (old specs load as the standard sampler) and every place names the sampler; misuse is a clear error."""
import json

import pytest

from cert_core.methods.cohen.run import COHEN, sampler_text, sound_float_fields
from cert_core.runs.cli_parser import build_parser
from cert_core.runs.spec import RunSpec

DIGITS = ["--model", "digits-cnn-s0.5", "--sigma", "0.5", "--n0", "10", "--n", "100", "--batch", "400",
          "--max", "3", "--device", "cpu"]


def test_a_sound_spec_names_its_sampler_everywhere():
    """(The tiny run that certifies with it and the page that says so: tests/app/test_app_runs.py.)"""
    spec = RunSpec({"zoo": "digits-cnn-s0.5"}, {"name": "digits"}, 0.5, sound_float=True, levels=256)
    assert spec.describe() == "σ=0.5 sound float L=256" and COHEN.display_name(spec) == "Cohen (fixed σ, sound float)"
    assert COHEN.cli_flags(spec) == " --sound-float --levels 256"
    assert "sound floating point" in COHEN.caption(spec) and "1/256" in COHEN.caption(spec)


def test_standard_specs_keep_their_json_and_old_runs_read_as_standard():
    spec = RunSpec({"zoo": "digits-cnn-s0.5"}, {"name": "digits"}, 0.5)
    raw = json.loads(spec.to_json())
    assert "sound_float" not in raw and "levels" not in raw                  # a standard run's JSON is unchanged
    assert RunSpec.from_json(spec.to_json()).sound_float is False
    sound = RunSpec({"zoo": "digits-cnn-s0.5"}, {"name": "digits"}, 0.5, sound_float=True, levels=16)
    assert json.loads(sound.to_json())["sound_float"] is True and RunSpec.from_json(sound.to_json()) == sound
    assert "not sound in floating point" in sampler_text(spec)


def test_misuse_is_a_clear_error():
    with pytest.raises(ValueError, match="'sound_float' parameter of RunSpec is for the method 'cohen'"):
        RunSpec({"zoo": "m"}, {"name": "digits"}, 0.5, method="ddrs", sound_float=True)
    with pytest.raises(ValueError, match="'levels' parameter of RunSpec"):
        RunSpec({"zoo": "m"}, {"name": "digits"}, 0.5, sound_float=True, levels=0)
    with pytest.raises(ValueError, match="--levels: only with --sound-float"):
        sound_float_fields(build_parser().parse_args(["certify", *DIGITS, "--levels", "16"]))
    assert sound_float_fields(build_parser().parse_args(["certify", *DIGITS, "--sound-float"])) == dict(
        sound_float=True, levels=255)
