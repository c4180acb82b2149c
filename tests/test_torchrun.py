"""Scaling out: every CLI flag passes through torchrun's own parser unchanged, and the README's torchrun
commands (copied here verbatim) run on CPU with gloo and give the certificates of one process."""
import argparse

import pytest

from cert_core.runs.cli import build_parser

torchrun = pytest.importorskip("torch.distributed.run", reason="torch.distributed.run (torchrun) is unavailable")


def our_flags():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for command, parser in sub.choices.items():
        for action in parser._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    yield command, flag, action.dest


def test_every_flag_has_a_spelling_torchrun_passes_through():
    """torchrun takes any prefix of its options (--n: --nnodes, ...; --max: --max-restarts), so each of our
    destinations needs at least one spelling its parser leaves in the script's arguments."""
    parser = torchrun.get_args_parser()
    passes = {}
    for command, flag, dest in our_flags():
        for argv in ([command, flag, "1"], [command, f"{flag}=1"]):
            try:
                ok = parser.parse_args(["--standalone", "-m", "cert_core", *argv]).training_script_args == argv
            except SystemExit:
                ok = False
            passes.setdefault((command, dest), []).append((flag, ok))
    blocked = {k: [f for f, ok in v if not ok] for k, v in passes.items()}
    assert sorted({f for v in blocked.values() for f in v}) == ["--max", "--n"]     # the short ones only
    assert all(any(ok for _, ok in v) for v in passes.values())


def test_torchrun_spellings_mean_the_same_and_help_names_them(capsys):
    parser = build_parser()
    short = parser.parse_args(["certify", "--model", "m", "--sigma", "0.5", "--n", "7", "--max", "3"])
    for n_flag in ("--num-samples", "--n-samples"):
        long = parser.parse_args(["certify", "--model", "m", "--sigma", "0.5", n_flag, "7", "--max-examples", "3"])
        assert (long.n, long.max) == (short.n, short.max) == (7, 3)
    default = parser.parse_args(["certify", "--model", "m", "--sigma", "0.5"])
    assert (default.n, default.max) == (100_000, None)
    assert parser.parse_args(["predict", "--model", "m", "--sigma", "0.5"]).n == 1_000
    with pytest.raises(SystemExit):
        parser.parse_args(["certify", "--help"])
    text = capsys.readouterr().out
    assert "--num-samples" in text and "--max-examples" in text and "Under torchrun" in text
