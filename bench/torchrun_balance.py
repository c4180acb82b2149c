"""torchrun at scale on CPU (gloo): (a) dynamic chunks vs a static split under a skewed workload, (b) a rank
killed mid-run: nothing lost, nothing counted twice.

    python bench/torchrun_balance.py [--ranks 2] [--examples 96] [--skew 30] [--part all|balance|kill]

(a) balance: the digits CNN certifies ``--examples`` test examples (real CERTIFY, n = 200) on ``--ranks``
    ranks; 10% of the examples (drawn with seed 0, or the first 10%: "clustered") cost ``--skew``× more, emulated by a sleep of
    skew × 20 ms per costly example after its chunk (1× = 20 ms), so the figure measures the scheduling, not
    the CPU contention of a shared machine. "dynamic" is the CLI's path (``distributed.certify_shared``:
    rank 0 hands out chunks of ``cli.shared_chunk_step``); "static" deals the same chunks round-robin
    (``planned_chunks`` with a Shard per rank, what store-sharing workers do). Printed per rank: when it
    finished its last chunk (s after the common start), and the gap between the first and the last rank in
    seconds and in chunks (gap / mean chunk time).
(b) kill: the real CLI under ``torchrun --max-restarts=1``; when the run store holds ``--kill-at`` finished
    examples, rank 1 gets SIGKILL; torchrun restarts both ranks and the same command resumes the run. Then
    the same again without --max-restarts (torchrun fails) and the command re-run by hand. Reported: examples
    done before the kill, lost (total − stored), duplicated (TSV lines − distinct idx), and whether the
    certificates equal a one-process run with the same seed.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
UNIT = 0.02             # seconds of emulated work per ordinary example


# ---------------------------------------------------------------------- (a) one rank of the balance run
def costly_examples(select: np.ndarray, pattern: str) -> set[int]:
    """10% of the selection: drawn at random (seed 0), or the first 10% (hard examples that cluster, e.g. one
    class stored together: the case a static split handles worst)."""
    count = max(1, len(select) // 10)
    if pattern == "clustered":
        return set(select[:count].tolist())
    return set(np.random.default_rng(0).choice(select, count, replace=False).tolist())


def balance_rank(mode: str, examples: int, skew: float, pattern: str) -> None:
    import torch
    import torch.distributed as dist
    from cert_core.methods.cohen.run import certify_chunks
    from cert_core.models.data import load_dataset
    from cert_core.models.zoo import load_zoo_model
    from cert_core.runs.chunks import Shard, planned_chunks
    from cert_core.runs.cli import shared_chunk_step
    from cert_core.runs.cli_inputs import shard_from_env
    from cert_core.runs.distributed import certify_shared, init_group
    from cert_core.runs.inputs import RunData
    from cert_core.runs.spec import RunSpec
    from cert_core.smoothing import Smooth
    torch.set_num_threads(1)
    shard = shard_from_env()
    init_group(shard)
    loaded = load_zoo_model("digits-cnn-s0.25")
    ds = load_dataset(**loaded.metadata["dataset"])
    data = RunData(ds.x_test, ds.y_test, ds.num_classes)
    spec = RunSpec({"zoo": "digits-cnn-s0.25"}, dict(ds.spec), 0.25, n0=20, n=200, batch=200, max_examples=examples,
                   device="cpu")
    select = spec.select(len(data.y))
    costly = costly_examples(select, pattern)
    smooth = Smooth(loaded.model, data.num_classes, spec.sigma)
    step = shared_chunk_step(spec, len(select), shard.world_size)
    state = {"chunks": 0, "examples": 0, "busy": 0.0, "last": 0.0}

    def certify(idx):
        t0 = time.perf_counter()
        for rows in certify_chunks(smooth, data, idx, spec, torch.device("cpu"), shard.rank):
            yield rows
        time.sleep(UNIT * sum(skew if int(i) in costly else 1.0 for i in idx))
        state["chunks"] += 1
        state["examples"] += len(idx)
        state["busy"] += time.perf_counter() - t0
        state["last"] = time.perf_counter() - start

    dist.barrier()
    start = time.perf_counter()
    if mode == "dynamic":
        chunks = planned_chunks(select, step, Shard(), set()) if shard.rank == 0 else []
        certify_shared(shard, chunks, certify, lambda rows: None)
    else:
        for chunk in planned_chunks(select, step, Shard(shard.rank, shard.world_size), set()):
            for _ in certify(chunk):
                pass
    gathered = [None] * shard.world_size
    dist.all_gather_object(gathered, state)
    if shard.rank == 0:
        print("RESULT " + json.dumps({"mode": mode, "pattern": pattern, "step": step, "costly": len(costly), "ranks": gathered}))
    dist.destroy_process_group()


def torchrun(ranks: int, args: list[str], cwd, extra_env=None, restarts: int = 0) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", **(extra_env or {}))
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={ranks}",
           f"--max-restarts={restarts}", *args]
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def part_balance(a) -> None:
    print(f"(a) skewed workload: {a.examples} digits examples, 10% cost {a.skew:g}x (1x = {UNIT * 1000:.0f} ms), "
          f"{a.ranks} ranks")
    print("| costly 10% | split | chunk | per-rank finish (s) | chunks per rank | gap (s) | gap in chunks |")
    print("|---|---|---:|---|---|---:|---:|")
    for pattern, mode in [(p, m) for p in ("random", "clustered") for m in ("static", "dynamic")]:
        proc = torchrun(a.ranks, [__file__, "--worker", mode, "--examples", str(a.examples), "--skew", str(a.skew),
                                  "--pattern", pattern], REPO)
        out = proc.communicate(timeout=900)[0]
        line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
        if proc.returncode or line is None:
            print(out[-3000:])
            raise SystemExit(f"{mode}: torchrun failed ({proc.returncode})")
        res = json.loads(line[7:])
        ranks = res["ranks"]
        finish = [r["last"] for r in ranks]
        chunk_time = sum(r["busy"] for r in ranks) / max(1, sum(r["chunks"] for r in ranks))
        gap = max(finish) - min(finish)
        print(f"| {pattern} | {mode} | {res['step']} ex | {' / '.join(f'{f:.2f}' for f in finish)} | "
              f"{' / '.join(str(r['chunks']) for r in ranks)} | {gap:.2f} | {gap / chunk_time:.2f} |")


# ---------------------------------------------------------------------- (b) kill a rank
def children(pid: int) -> list[int]:
    out = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def rank_pid(launcher: int, rank: int) -> int | None:
    """The pid of torchrun's worker with RANK=rank (a child, or grandchild, of the launcher)."""
    todo = children(launcher)
    while todo:
        pid = todo.pop()
        try:
            env = pathlib.Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"RANK={rank}".encode() in env and any(e.startswith(b"TORCHELASTIC_RUN_ID=") for e in env):
            return pid
        todo.extend(children(pid))
    return None


def kill_when(proc, store_path, at: int, timeout: float = 600) -> int:
    from cert_core.runs.store import RunStore
    end = time.time() + timeout
    while time.time() < end and proc.poll() is None:
        if pathlib.Path(store_path).exists():
            runs = RunStore(store_path).list_runs()
            done = runs[0].done if runs else 0
            pid = rank_pid(proc.pid, 1)
            if done >= at and pid is not None:
                os.kill(pid, signal.SIGKILL)
                return done
        time.sleep(0.1)
    raise SystemExit("the run finished or timed out before the kill")


def tsv_rows(path) -> list[list[str]]:
    return [line.split("\t")[:5] for line in pathlib.Path(path).read_text().splitlines()[1:]]


def part_kill(a) -> None:
    from cert_core.runs.store import RunStore
    common = ["-m", "cert_core", "certify", "--model", "digits-cnn-s0.25", "--sigma", "0.25", "--n0", "50",
              "--num-samples", str(a.kill_n), "--batch", "500", "--max-examples", str(a.kill_examples),
              "--device", "cpu", "--seed", "0", "--out", "results.tsv"]
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="kill-bench-"))
    ref = subprocess.run([sys.executable, *common, "--no-store"], cwd=tmp, capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1"))
    assert ref.returncode == 0, ref.stdout + ref.stderr
    reference = tsv_rows(tmp / "results.tsv")
    print(f"(b) kill-a-rank: {a.kill_examples} digits examples, n = {a.kill_n}, 2 ranks, rank 1 SIGKILLed once the "
          f"store holds {a.kill_at} examples")
    print("| recovery | done at kill | resumed | runs in store | stored / total | lost | duplicated | "
          "TSV = 1 process | wall (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for recovery in ("torchrun --max-restarts=1", "re-run the same command"):
        folder = tmp / recovery.split()[0].replace("-", "")
        folder.mkdir()
        store_path = folder / "runs.sqlite"
        env = {"CERT_EXPLORER_RUNS": str(store_path)}
        t0 = time.perf_counter()
        restarts = 1 if recovery.startswith("torchrun") else 0
        proc = torchrun(2, common, folder, env, restarts=restarts)
        done_at_kill = kill_when(proc, store_path, a.kill_at)
        out = proc.communicate(timeout=900)[0]
        if restarts == 0:
            assert proc.returncode != 0, "torchrun should fail without restarts"
            proc = torchrun(2, common, folder, env)
            out = proc.communicate(timeout=900)[0]
        assert proc.returncode == 0, out[-3000:]
        wall = time.perf_counter() - t0
        runs = RunStore(store_path).list_runs()
        ex = RunStore(store_path).examples(runs[0].id)
        rows = tsv_rows(folder / "results.tsv")
        lost = runs[0].total - len(set(ex.idx.tolist()))
        duplicated = len(rows) - len({r[0] for r in rows})
        resumed = "resuming run" in out
        print(f"| {recovery} | {done_at_kill} | {resumed} | {len(runs)} | {len(ex)} / {runs[0].total} | "
              f"{lost} | {duplicated} | {rows == reference} | {wall:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--examples", type=int, default=96)
    parser.add_argument("--skew", type=float, default=30.0)
    parser.add_argument("--part", choices=("all", "balance", "kill"), default="all")
    parser.add_argument("--kill-examples", type=int, default=60)
    parser.add_argument("--kill-n", type=int, default=4000)
    parser.add_argument("--kill-at", type=int, default=12)
    parser.add_argument("--worker", choices=("static", "dynamic"), help=argparse.SUPPRESS)
    parser.add_argument("--pattern", choices=("random", "clustered"), default="random", help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.worker:
        balance_rank(a.worker, a.examples, a.skew, a.pattern)
        return
    print(f"python bench/torchrun_balance.py {' '.join(sys.argv[1:])}".strip())
    if a.part in ("all", "balance"):
        part_balance(a)
    if a.part in ("all", "kill"):
        part_kill(a)


if __name__ == "__main__":
    main()
