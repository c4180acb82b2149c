"""Scaling out: every CLI flag passes through torchrun's own parser unchanged, and the README's torchrun
commands (copied here verbatim) run on CPU with gloo and give the certificates of one process."""
import argparse

import pytest

from cert_core.runs.cli_parser import build_parser

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


def test_sequential_flags_are_checked_and_torchrun_leaves_them_as_written():
    """The sequential flags are among those the test above checks, and a whole sequential command survives."""
    flags = {flag for command, flag, _ in our_flags() if command == "certify"}
    assert {"--sequential", "--radius", "--radius-grid", "--max-n"} <= flags
    argv = ["certify", "--sequential", "--radius-grid", "--max-n", "500", "--radius-grid=0,1", "--radius", "0.5"]
    assert torchrun.get_args_parser().parse_args(["--standalone", "-m", "cert_core", *argv]).training_script_args == argv


def test_torchvision_model_flags_are_checked_and_torchrun_leaves_them_as_written():
    """--model torchvision:ARCH --weights FILE and its normalisation flags pass through torchrun unchanged."""
    flags = {flag for command, flag, _ in our_flags() if command == "certify"}
    assert {"--weights", "--num-classes", "--mean", "--std", "--image-size"} <= flags
    argv = ["certify", "--model", "torchvision:resnet18", "--weights", "w.pt", "--num-classes", "10", "--image-size",
            "32", "--mean", "0.485,0.456,0.406", "--std=0.229,0.224,0.225", "--npz", "x.npz", "--sigma", "0.25"]
    assert torchrun.get_args_parser().parse_args(["--standalone", "-m", "cert_core", *argv]).training_script_args == argv


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


# ---------------------------------------------------------------------- the README's commands, run on CPU
import os            # noqa: E402
import pathlib       # noqa: E402
import shlex         # noqa: E402
import shutil        # noqa: E402
import socket        # noqa: E402
import subprocess    # noqa: E402
import sys           # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]
TORCHRUN = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")
# Copied verbatim from README.md (the test checks they are still there); run with small sizes appended.
ONE = (".venv/bin/python -m cert_core certify --model digits-cnn-s0.25 --sigma 0.25 --n0 100 --n 100000 "
       "--alpha 0.001 --batch 1000 --max 500 --device auto --seed 0 --out results.tsv")
GPUS = ("torchrun --standalone --nproc-per-node=4 -m cert_core certify --model digits-cnn-s0.25 --sigma 0.25 "
        "--n0 100 --num-samples 100000 --alpha 0.001 --batch 1000 --max-examples 500 --device auto --seed 0 "
        "--out results.tsv")
NODES = ("torchrun --nnodes=2 --node-rank=0 --nproc-per-node=4 --master-addr=HOST --master-port=29500 "
         "-m cert_core certify --model digits-cnn-s0.25 --sigma 0.25 --n0 100 --num-samples 100000 "
         "--alpha 0.001 --batch 1000 --max-examples 500 --device auto --seed 0 --out results.tsv")
SMALL = ["--n0", "20", "--num-samples", "300", "--max-examples", "6", "--batch", "200", "--device", "cpu"]


def readme_commands():
    """The README's bash lines, continuation lines joined."""
    text = (REPO / "README.md").read_text()
    return [" ".join(c.split()) for c in text.replace("\\\n", " ").splitlines()]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(command: str, cwd, extra=(), **env_extra):
    argv = shlex.split(command)
    argv[0] = sys.executable if argv[0].endswith("python") else TORCHRUN
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", CERT_EXPLORER_RUNS=str(cwd / "runs.sqlite"),
               **env_extra)
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    return subprocess.Popen([*argv, *extra], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def finish(procs, timeout=150):
    outs = [p.communicate(timeout=timeout)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs), "\n".join(outs)
    return outs


def certificates(path):
    return [line.split("\t")[:5] for line in pathlib.Path(path).read_text().splitlines()]


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    """The README's one-process command with the small sizes: the reference every split must equal."""
    cwd = tmp_path_factory.mktemp("one")
    assert ONE in readme_commands()
    finish([launch(ONE, cwd, [*SMALL[:2], "--n", "300", "--max", "6", *SMALL[6:]])])
    rows = certificates(cwd / "results.tsv")
    assert len(rows) == 7
    return rows


needs_torchrun = pytest.mark.skipif(
    TORCHRUN is None or not __import__("torch").distributed.is_gloo_available(),
    reason="torchrun or the gloo backend is not available")


def interrupted_npz_run(store_path, npz):
    """A run of the small command on the digits test split as an .npz, killed after 3 of its 6 examples."""
    import sqlite3

    import numpy as np
    from cert_core.models.data import load_digits
    from cert_core.runs.cli import main
    from cert_core.runs.store import RunStore
    ds = load_digits()
    np.savez(npz, x=ds.x_test[:6], y=ds.y_test[:6])
    store = RunStore(store_path)
    main(["certify", "--model", "digits-cnn-s0.25", "--sigma", "0.25", "--alpha", "0.001", "--seed", "0", *SMALL,
          "--npz", str(npz), "--store", str(store_path)])
    (run,) = store.list_runs()
    with sqlite3.connect(store_path) as con:
        con.execute("DELETE FROM examples WHERE run_id = ? AND idx IN (1, 2, 4)", (run.id,))
        con.execute("UPDATE runs SET status = 'interrupted' WHERE id = ?", (run.id,))
    return store, run.id


@needs_torchrun
def test_readme_multi_gpu_command_gives_the_single_process_certificates_and_resumes(single, tmp_path):
    """Also --npz under torchrun, and what --max-restarts (or re-running the command) does after a rank was
    killed: the same command continues the interrupted run; stored examples stay, the rest is certified once."""
    assert GPUS in readme_commands()
    store, run_id = interrupted_npz_run(tmp_path / "runs.sqlite", tmp_path / "digits.npz")
    npz = ["--npz", str(tmp_path / "digits.npz")]
    (out,) = finish([launch(GPUS.replace("--nproc-per-node=4", "--nproc-per-node=2"), tmp_path, [*SMALL, *npz])])
    assert certificates(tmp_path / "results.tsv") == single
    assert "cert acc" in out and "recorded in" in out and f"resuming run {run_id} (interrupted): 3 of 6" in out
    (run,) = store.list_runs()
    assert run.status == "done" and run.done == 6 and "Certified by 2 torchrun ranks" in run.notes
    assert store.examples(run_id).idx.tolist() == list(range(6))


def two_nodes(command, tmp_path):
    """Two launchers on one machine, each in its own folder with its own (unshared) store path."""
    nodes = [tmp_path / "node0", tmp_path / "node1"]
    for folder in nodes:
        folder.mkdir()
    procs = [launch(command.replace("--node-rank=0", f"--node-rank={i}"), nodes[i], SMALL) for i in (0, 1)]
    return nodes, finish(procs)


@needs_torchrun
def test_readme_multi_node_recipe_needs_no_shared_store(single, tmp_path):
    assert NODES in readme_commands()
    port = str(free_port())
    command = NODES.replace("--nproc-per-node=4", "--nproc-per-node=1").replace("HOST", "127.0.0.1")
    nodes, outs = two_nodes(command.replace("29500", port), tmp_path)
    assert certificates(nodes[0] / "results.tsv") == single       # node 0 holds rank 0: the store and the TSV
    assert not (nodes[1] / "runs.sqlite").exists() and not (nodes[1] / "results.tsv").exists()
    assert "recorded in" in outs[0] and "recorded in" not in outs[1]


@needs_torchrun
def test_two_nodes_with_c10d_rendezvous_merge_into_one_run(single, tmp_path):
    port = str(free_port())
    command = (f"torchrun --nnodes=2 --node-rank=0 --nproc-per-node=1 --rdzv-backend=c10d "
               f"--rdzv-endpoint=127.0.0.1:{port} --rdzv-id=cert-test -m cert_core certify --model digits-cnn-s0.25 "
               f"--sigma 0.25 --seed 0 --alpha 0.001 --out results.tsv")
    nodes, _ = two_nodes(command, tmp_path)
    owners = [n for n in nodes if (n / "runs.sqlite").exists()]   # c10d gives rank 0 to either launcher
    assert len(owners) == 1 and not any((n / "results.tsv").exists() for n in nodes if n not in owners)
    assert certificates(owners[0] / "results.tsv") == single
    from cert_core.runs.store import RunStore
    (run,) = RunStore(owners[0] / "runs.sqlite").list_runs()
    assert run.status == "done" and run.done == 6

