"""Headless certification with the same engine as the app.

    python -m cert_core certify --model moons-mlp-s0.25 --sigma 0.25 --n0 100 --n 100000 \
        --alpha 0.001 --batch 1000 --max 500 --device auto --seed 0 --out results.tsv
    python -m cert_core predict --model digits-cnn-s0.25 --sigma 0.25 --n 1000 --alpha 0.001

``certify`` writes Cohen et al.'s TSV (``idx label predict radius correct time``) one line per example as
it finishes and prints certified accuracy at a few radii and the ACR; ``predict`` writes
``idx label predict correct time``. Bad arguments get argparse-style messages (exit 2), never tracebacks.

``certify`` also records the run in the run store the app reads (``--store``, default
``$CERT_EXPLORER_RUNS`` or ``~/.local/share/cert_explorer/runs.sqlite``; ``--no-store`` skips it), so a
headless run shows up on the app's runs page. An interrupted run is continued with
``python -m cert_core.runs.worker --store STORE --run ID``, or by running the same command again
(``start_or_resume``; torchrun's ``--max-restarts`` does that after a rank died). Test data: ``--dataset``,
``--npz FILE`` (the runs page's loader) or ``--image-folder DIR`` (``cert_core.models.image_folder``).

``certify --sequential`` runs the run method "sequential" instead (``cert_core.methods.sequential.run``: anytime-
valid CERTIFY, Cohen's guarantee under any stopping rule): ``--radius R`` asks "radius ≥ R·σ?", ``--radius-grid``
certifies a grid of radii (the certified-accuracy curve; default 0, 0.25, ..., 2 × σ), neither gives the anytime
bound; ``--max-n`` (default ``--n``) is each example's budget. Its TSV has one more column, ``samples`` (n0 + votes
drawn for that example), and the summary states the saving against fixed n. One process only (not under torchrun).

Sharding: under ``torchrun --nproc-per-node=K -m cert_core certify ...`` (env RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR/PORT) every rank joins a gloo process group; rank 0 alone opens the run store,
hands out chunks cut from the whole selection (work stealing) and records the rows the other ranks send
back over the process group (``cert_core.runs.distributed``); each rank certifies on ``cuda:LOCAL_RANK``
(or the CPU). Rank 0 writes the TSV sorted by idx and the summary. No rank but 0 touches a file, so
several machines need no shared file system. Under torchrun spell ``--n`` as ``--num-samples`` and
``--max`` as ``--max-examples`` (torchrun reads the short ones as prefixes of its own options).

Where it lives: every flag in ``cert_core.runs.cli_parser``; from flags to model, data, device and rank in
``cert_core.runs.cli_inputs``; here the certify and predict loops, the summary and ``main``.
"""
from __future__ import annotations

import dataclasses
import math
import pathlib
import sys
import time

import numpy as np
import torch

from cert_core.runs.export import COHEN_HEADER, cohen_tsv_line
from cert_core.metrics import average_certified_radius, certified_accuracy
from cert_core.runs.spec import check_budget
from cert_core.runs.store import RunSpec, RunStore
from cert_core.smoothing import ABSTAIN, Smooth
from cert_core.methods.cohen.run import certify_chunks, cohen_smooth, example_seeds, sound_float_fields
from cert_core.noise import example_generators
from cert_core.runs.chunks import Shard, chunk_size, planned_chunks
from cert_core.runs.distributed import agree, certify_shared
from cert_core.runs.inputs import RunData, load_run_model
from cert_core.runs.lifecycle import owning
from cert_core.runs.worker import run_shard
from cert_core.runs.cli_parser import build_parser
from cert_core.runs.cli_inputs import (resolve_dataset, resolve_device, resolve_model, sequential_fields,
                                       shard_from_env, stored_model_spec, torchvision_spec)
from cert_core.runs.engine import run_chunks
from cert_core.models.isolated import IsolatedModelError

SUMMARY_RADII = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
SAMPLES_COLUMN = ("samples",)   # sequential TSVs: n0 + votes drawn per example, after Cohen et al.'s columns


def run(args, out=None) -> int:
    """Certify or predict as the parsed ``args`` say, the summary to ``out``; the exit status."""
    out = out or sys.stdout
    sequential = sequential_fields(args) if args.command == "certify" else {}
    check_budget(getattr(args, "n0", 0), sequential.get("n", args.n), "--n")   # before loading: 10**12 runs forever
    tv_spec = torchvision_spec(args)
    loaded = load_run_model(tv_spec) if tv_spec else resolve_model(args.model, args.trust_torchscript)
    shard = shard_from_env() if args.command == "certify" else Shard()
    device = resolve_device(args.device, shard.local_rank)
    dataset = resolve_dataset(args, loaded)
    if loaded.input_shape is not None and tuple(loaded.input_shape) != tuple(dataset.input_shape):
        raise ValueError(f"the model takes inputs of shape {tuple(loaded.input_shape)}, but {dataset.name} has "
                         f"{dataset.input_shape}" + " (--image-size sets a torchvision model's input)" * bool(tv_spec))
    if args.command == "certify":
        return _certify(args, out, loaded, dataset, device, shard, sequential)
    return _predict(args, out, loaded, dataset, device)


def _predict(args, out, loaded, dataset, device) -> int:
    """PREDICT every selected example (Cohen et al.), 64 at a time, streaming TSV lines; noise keyed by (seed, idx)."""
    model = loaded.model.to(device)
    smooth = Smooth(model, dataset.num_classes, args.sigma)
    indices = np.arange(0, len(dataset.y_test), args.skip)[: args.max]
    sink = open(args.out, "w") if args.out else None
    radii, correct, abstained = [], [], []
    start = time.perf_counter()
    try:
        if sink:
            print("idx\tlabel\tpredict\tcorrect\ttime", file=sink, flush=True)
        for lo in range(0, len(indices), 64):
            idx = indices[lo: lo + 64]
            xs = torch.from_numpy(dataset.x_test[idx]).to(device)
            t0 = time.perf_counter()
            generators = example_generators(example_seeds(args.seed, idx), device)   # noise keyed by (seed, idx)
            preds = smooth.predict_batch(xs, args.n, args.alpha, args.batch, generators)
            per = (time.perf_counter() - t0) / len(idx)
            for i, p in zip(idx, preds):
                label = int(dataset.y_test[i])
                radii.append(0.0)
                correct.append(p == label)
                abstained.append(p == ABSTAIN)
                if sink:
                    print(f"{i}\t{label}\t{p}\t{int(p == label)}\t{per:.4f}", file=sink, flush=True)
    finally:
        if sink:
            sink.close()
    _summary(out, args, dataset, radii, correct, time.perf_counter() - start, device, abstained)
    return 0


def _certify(args, out, loaded, dataset, device, shard: Shard, sequential: dict) -> int:
    """CERTIFY every selected example, streaming TSV lines and recording the run (one process), or over
    torchrun's ranks with rank 0 owning the store and writing the merged TSV (``cert_core.runs.distributed``)."""
    model_spec = torchvision_spec(args) or stored_model_spec(args.model, loaded)
    spec = RunSpec(model_spec, dict(dataset.spec), args.sigma, n0=args.n0, n=args.n,
                   alpha=args.alpha, batch=args.batch, max_examples=args.max, skip=args.skip,
                   device=args.device, seed=args.seed, model_label=str(args.model), data_label=f"{dataset.name} test")
    spec = dataclasses.replace(spec, **sequential, **sound_float_fields(args))
    data = RunData(dataset.x_test, dataset.y_test, dataset.num_classes)
    if shard.world_size > 1:
        if sequential:
            raise ValueError("--sequential certifies in one process; under torchrun its examples would stop at "
                             "different times on different ranks (not supported yet): run it without torchrun")
        return _certify_shared(args, out, loaded, dataset, device, shard, spec, data)
    sink = open(args.out, "w") if args.out else None
    rows, start = [], time.perf_counter()
    try:
        if sink:
            print("\t".join(COHEN_HEADER + SAMPLES_COLUMN * bool(sequential)), file=sink, flush=True)

        def take(chunk):
            rows.extend(chunk)
            if sink and chunk:
                print("\n".join(map(_tsv_line, chunk)), file=sink, flush=True)

        if args.no_store:
            for chunk in run_chunks(loaded, data, spec, device):       # the run method's own chunks and noise
                take(chunk)
        else:
            store = RunStore(args.store)
            run_id = start_or_resume(store, spec, len(spec.select(len(data.y))), args.name, out)
            take(stored_rows(store, run_id))                     # a resumed run's earlier examples, in the TSV too
            status = run_shard(store, run_id, shard, loaded, data, on_rows=take)
            if status == "failed":
                raise ValueError(store.get(run_id).error)
            print(f"run {run_id} ({status}) recorded in {store.path}", file=out)
    finally:
        if sink:
            sink.close()
    _summary(out, args, dataset, [r["radius"] for r in rows], [r["correct"] for r in rows],
             time.perf_counter() - start, device)
    if sequential and rows:
        _saving(out, spec, [r["samples"] for r in rows])
    return 0


def _tsv_line(row: dict) -> str:
    """Cohen et al.'s TSV line, plus the samples drawn when the method reports them (sequential)."""
    return cohen_tsv_line(row) + (f"\t{int(row['samples'])}" if "samples" in row else "")


def _saving(out, spec: RunSpec, samples) -> None:
    fixed = spec.n0 + spec.n
    print(f"samples/example {np.mean(samples):,.0f} (n0 + votes; most {max(samples):,}); fixed n0 + n = {fixed:,} "
          f"gives the same guarantee: {fixed / np.mean(samples):.1f}x fewer samples", file=out)


def _certify_shared(args, out, loaded, dataset, device, shard: Shard, spec: RunSpec, data: RunData) -> int:
    """torchrun: rank 0 alone opens the store (no other rank touches a file) and hands out chunks cut from the
    whole selection; every rank certifies; rank 0 records all rows and writes the TSV sorted by idx."""
    select = spec.select(len(data.y))
    store = RunStore(args.store) if shard.rank == 0 and not args.no_store else None
    run_id = agree(shard, lambda: store and start_or_resume(store, spec, len(select), args.name, out))
    smooth = cohen_smooth(loaded.model.to(device), dataset.num_classes, spec)

    def certify(idx):
        return certify_chunks(smooth, data, idx, spec, device, shard.rank)

    if shard.rank != 0:
        certify_shared(shard, [], certify, lambda rows: None)
        return 0
    rows, start = [], time.perf_counter()

    def take(chunk):
        if store is not None:
            store.add_examples(run_id, chunk)            # committed: survives any crash from here on
        rows.extend(chunk)

    step = shared_chunk_step(spec, len(select), shard.world_size)
    done = store.done_indices(run_id) if store is not None else set()      # a resumed run: certified before
    chunks = [c[~np.isin(c, sorted(done))] for c in planned_chunks(select, step, Shard(), done)]
    with owning(store, run_id, device, shard.world_size) as should_stop:
        certify_shared(shard, chunks, certify, take, should_stop)
    if store is not None:
        rows = stored_rows(store, run_id)                        # this attempt's rows and any earlier ones
    rows.sort(key=lambda r: r["idx"])
    if args.out:
        pathlib.Path(args.out).write_text("\n".join(["\t".join(COHEN_HEADER), *map(cohen_tsv_line, rows)]) + "\n")
    if store is not None:
        print(f"run {run_id} ({store.get(run_id).status}) recorded in {store.path}", file=out)
    _summary(out, args, dataset, [r["radius"] for r in rows], [r["correct"] for r in rows],
             time.perf_counter() - start, device)
    return 0


def shared_chunk_step(spec: RunSpec, count: int, world_size: int) -> int:
    """Examples per chunk handed out under torchrun: ``chunk_size`` but at least ~4 chunks per rank, so a rank
    that drew cheap examples takes more and the ranks finish within about one chunk of each other."""
    return max(1, min(chunk_size(spec.n, spec.batch), math.ceil(count / (4 * world_size))))


RESUMABLE = ("interrupted", "failed")


def start_or_resume(store: RunStore, spec: RunSpec, total: int, name: str, out) -> int:
    """The newest interrupted or failed run of exactly this spec, continued; else a new run. So re-running the
    same command, or torchrun's ``--max-restarts`` after a rank died, finishes the run: every stored example
    is kept and skipped (an example's noise depends on (seed, idx) only, so the certificates are those of an
    uninterrupted run), none is certified twice (the store keys examples by (run, idx))."""
    for run in store.list_runs():                     # newest first; a run whose workers died reads interrupted
        if run.spec == spec and run.total == total and run.status in RESUMABLE:
            store.update(run.id, status="running", error="")
            print(f"resuming run {run.id} ({run.status}): {run.done} of {total} examples already certified",
                  file=out)
            return run.id
    return store.create_run(spec, total, name=name, status="running")


def stored_rows(store: RunStore, run_id: int) -> list[dict]:
    """The run's finished examples as row dicts (what the TSV and the summary read), sorted by idx."""
    ex = store.examples(run_id)
    return [dict(idx=int(ex.idx[i]), label=int(ex.label[i]), prediction=int(ex.prediction[i]),
                 radius=float(ex.radius[i]), correct=bool(ex.correct[i]), seconds=float(ex.seconds[i]))
            for i in range(len(ex))]


def _summary(out, args, dataset, radii, correct, seconds, device, abstained=()) -> None:
    m = len(radii)
    if m == 0:
        print(f"{args.command}: no examples were certified", file=out)
        return
    print(f"{args.command} {args.model} on {dataset.name} test: {m} examples, σ={args.sigma:g}, "
          f"device={device}, {seconds:.1f} s", file=out)
    if args.command == "predict":
        print(f"smoothed accuracy {np.mean(correct):.4f}  abstain rate {np.mean(abstained):.4f}", file=out)
        return
    acc = certified_accuracy(radii, correct, SUMMARY_RADII)
    print("radius    " + "  ".join(f"{r:>5.2f}" for r in SUMMARY_RADII), file=out)
    print("cert acc  " + "  ".join(f"{a:>5.3f}" for a in acc), file=out)
    print(f"ACR {average_certified_radius(radii, correct):.4f}", file=out)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (ValueError, FileNotFoundError, OSError, IsolatedModelError) as error:
        args.parser.error(str(error))  # exits 2 with the sub-command's usage line, like argparse
    except KeyboardInterrupt:
        print("interrupted; the lines written so far are complete and every finished example is in the run "
              "store (continue with python -m cert_core.runs.worker --store STORE --run ID)", file=sys.stderr)
        return 130
