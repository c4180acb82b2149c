"""The run store: certification runs and their examples in one SQLite file.

A *run* is one certification method (``RunSpec.method``, see ``cert_core.runs.spec``: Cohen et al.'s
CERTIFY, data-dependent σ, Bernstein) applied to a selection of test examples. One row per run (model,
data, parameters, device, status, timings, software versions) and one row per finished example (index,
label, prediction, radius, p_lower, correct, base prediction, seconds, and the nullable per-method
columns: ``sigma`` = σ*_x of a ddrs run, whose memory is applied when reading (``run_methods.certified``);
``root_radius`` = a Bernstein run's root-finding radius, which is NOT a certificate; ``samples`` = the noisy
samples a sequential run drew for the example).

Guarantees the rest of the product relies on:

* **Nothing finished is lost.** Workers commit each finished example at once (``add_examples``);
  SQLite's write-ahead log makes a commit durable before the call returns, so a killed worker or a
  crashed server leaves every finished example in the file.
* **No duplicates.** ``(run_id, idx)`` is the primary key and inserts are ``INSERT OR IGNORE``: a
  resumed run, two ranks of a sharded run or two racing browser sessions can never count an
  example twice.
* **Concurrent writers are safe.** WAL mode lets readers (the live page) run beside one writer at a
  time; every write is a short ``BEGIN IMMEDIATE`` transaction with a busy timeout.
* **Interrupted runs are detected.** A worker registers itself (pid, host, heartbeat) and renews its lease
  every 2 s; a run that is queued/running but has no live worker (no heartbeat for ``LEASE`` s, or on this
  host a dead pid: a reused pid alone never keeps a run 'running') is marked ``interrupted`` by ``refresh``.
* **Faults are told, not thrown.** A run row that cannot be read is skipped by ``list_runs`` and reported in
  its ``problems``. The file itself (schema, migrations, safe creation, connections, every SQLite failure as a
  ``StoreError``) is ``cert_core.runs.store_file``.

The file's location is ``$CERT_EXPLORER_RUNS`` or ``$XDG_DATA_HOME/cert_explorer/runs.sqlite``
(default ``~/.local/share/cert_explorer/runs.sqlite``).
"""
from __future__ import annotations

import json
import math
import os
import pathlib
import socket
import time

import numpy as np

from cert_core.runs.records import ACTIVE, BASE_COLUMNS, EXAMPLE_COLUMNS, STATUSES, Examples, Run, RunList
from cert_core.runs.spec import RunSpec  # noqa: F401 (API: cert_core.runs.store.RunSpec)
from cert_core.runs.store_file import StoreError, StoreFile
from cert_core.validation import check_choice, check_int

STALE_AFTER = 30.0      # s without a heartbeat before a worker on another host counts as dead
LEASE = 60.0            # s without a heartbeat before a worker on this host counts as dead (pid reused)
STARTUP_GRACE = 15.0    # s a new run may wait for its launcher to register the worker
HOST = socket.gethostname()


def default_store_path() -> pathlib.Path:
    """``$CERT_EXPLORER_RUNS`` if set, else the per-user data folder."""
    env = os.environ.get("CERT_EXPLORER_RUNS")
    if env:
        return pathlib.Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or pathlib.Path.home() / ".local" / "share"
    return pathlib.Path(base) / "cert_explorer" / "runs.sqlite"


_INSERTED = tuple(c for c in EXAMPLE_COLUMNS if c != "finished_at")


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists on this host and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


class RunStore(StoreFile):
    """A run store file. Each call opens a short-lived connection, so one object may be shared by
    threads (Streamlit sessions) and many processes may use the same file at once."""

    def __init__(self, path=None):
        super().__init__(pathlib.Path(path).expanduser() if path is not None else default_store_path())

    # ------------------------------------------------------------------ runs
    def create_run(self, spec: RunSpec, total: int, name: str = "", group: str = "",
                   status: str = "queued") -> int:
        check_int(total, "total", "create_run", low=0)
        check_choice(status, "status", "create_run", STATUSES)
        name = name or f"{spec.model_label or 'model'} {spec.describe()}"
        with self.connect(write=True) as con:
            cur = con.execute("INSERT INTO runs (name, grp, spec, total, status, created) VALUES (?,?,?,?,?,?)",
                              (name, group, spec.to_json(), total, status, time.time()))
            return int(cur.lastrowid)

    def get(self, run_id: int) -> Run:
        runs = self._runs("WHERE r.id = ?", (int(run_id),))
        if runs.problems:
            raise StoreError(runs.problems[0])
        if not runs:
            raise ValueError(f"There is no run {run_id} in the run store {self.path}.")
        return runs[0]

    def list_runs(self) -> RunList:
        """All runs that can be read, newest first, after marking dead ones interrupted; a row that cannot be
        read (a bad spec) is skipped and told in ``.problems``, so one bad row never hides the others."""
        self.refresh()
        return self._runs("ORDER BY r.id DESC", ())

    def _runs(self, where: str, args) -> RunList:
        with self.connect() as con:
            rows = con.execute(
                "SELECT r.id, r.name, r.grp, r.spec, r.total, (SELECT COUNT(*) FROM examples e WHERE e.run_id = r.id),"
                " r.status, r.device, r.notes, r.error, r.versions, r.cancel, r.created, r.started, r.finished"
                f" FROM runs r {where}", args).fetchall()
        out = RunList()
        for r in rows:
            try:
                versions = json.loads(r[10])
                out.append(Run(r[0], str(r[1]), str(r[2]), RunSpec.from_json(r[3]), int(r[4]), r[5], r[6], r[7],
                               r[8], r[9], versions if isinstance(versions, dict) else {}, bool(r[11]), r[12],
                               r[13], r[14]))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                detail = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
                out.problems.append(f"Run {r[0]} ({str(r[1])[:80]!r}) in {self.path} cannot be read and is skipped: "
                                    f"{detail}. Delete it with `sqlite3 {self.path} \"DELETE FROM runs WHERE id = {r[0]}\"`.")
        return out

    def update(self, run_id: int, **values) -> None:
        """Set columns of a run: status, device, error, versions (dict), started, finished, name."""
        allowed = {"status", "device", "error", "versions", "started", "finished", "name"}
        if not values or not set(values) <= allowed:
            raise ValueError(f"The columns of update must be among {sorted(allowed)}. Got {sorted(values)} instead.")
        if "status" in values:
            check_choice(values["status"], "status", "update", STATUSES)
        if "versions" in values:
            values["versions"] = json.dumps(values["versions"], sort_keys=True)
        sets = ", ".join(f"{k} = ?" for k in values)
        with self.connect(write=True) as con:
            con.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*values.values(), int(run_id)))

    def add_note(self, run_id: int, text: str) -> None:
        with self.connect(write=True) as con:
            con.execute("UPDATE runs SET notes = notes || ? WHERE id = ?",
                        (time.strftime("%H:%M:%S ") + text.strip() + "\n", int(run_id)))

    def request_cancel(self, run_id: int, cancel: bool = True) -> None:
        """Ask the run's workers to stop after the example they are on (or clear the request)."""
        with self.connect(write=True) as con:
            con.execute("UPDATE runs SET cancel = ? WHERE id = ?", (int(cancel), int(run_id)))

    def delete(self, run_id: int) -> None:
        """Delete a run and its examples (a live worker notices and stops)."""
        with self.connect(write=True) as con:
            con.execute("DELETE FROM runs WHERE id = ?", (int(run_id),))

    # ------------------------------------------------------------------ examples
    def add_examples(self, run_id: int, rows) -> int:
        """Commit finished examples (dicts or objects with the columns of Examples but finished_at; the
        per-method columns may be missing or None/nan); returns how many were new. Durable when this
        returns; an idx already stored is ignored, never duplicated."""
        now = time.time()
        kinds = (int, int, int, float, float, lambda v: int(bool(v)), int, float, int, _nullable, _nullable, _nullable)
        values = [(int(run_id), *(kind(_get(r, c)) for kind, c in zip(kinds, _INSERTED)), now) for r in rows]
        with self.connect(write=True) as con:
            if con.execute("SELECT 1 FROM runs WHERE id = ?", (int(run_id),)).fetchone() is None:
                raise ValueError(f"There is no run {run_id} in the run store {self.path} (deleted?).")
            before = con.total_changes
            con.executemany(f"INSERT OR IGNORE INTO examples (run_id, {', '.join(_INSERTED)}, finished_at)"
                            f" VALUES ({', '.join('?' * (len(_INSERTED) + 2))})", values)
            return con.total_changes - before

    def examples(self, run_id: int) -> Examples:
        """The stored (raw) examples; a ddrs run's memory is applied by ``run_methods.certified``."""
        with self.connect() as con:
            rows = con.execute(f"SELECT {', '.join(EXAMPLE_COLUMNS)} FROM examples WHERE run_id = ? ORDER BY idx",
                               (int(run_id),)).fetchall()
        cols = list(zip(*rows)) if rows else [()] * len(EXAMPLE_COLUMNS)
        empty = Examples()
        return Examples(**{c: np.asarray(v, dtype=getattr(empty, c).dtype)      # NULL -> nan
                           for c, v in zip(EXAMPLE_COLUMNS, cols)})

    def done_indices(self, run_id: int) -> set[int]:
        with self.connect() as con:
            return {r[0] for r in con.execute("SELECT idx FROM examples WHERE run_id = ?", (int(run_id),))}

    # ------------------------------------------------------------------ workers
    def register_worker(self, run_id: int, rank: int = 0, world_size: int = 1, pid: int | None = None) -> bool:
        """Claim (run, rank) for process ``pid``; False if another live process holds it."""
        pid = os.getpid() if pid is None else int(pid)
        with self.connect(write=True) as con:
            if con.execute("SELECT 1 FROM runs WHERE id = ?", (int(run_id),)).fetchone() is None:
                raise ValueError(f"There is no run {run_id} in the run store {self.path}.")
            row = con.execute("SELECT pid, host, heartbeat FROM workers WHERE run_id = ? AND rank = ?",
                              (int(run_id), rank)).fetchone()
            if row and row[0] != pid and _alive(*row):
                return False
            con.execute("INSERT OR REPLACE INTO workers VALUES (?,?,?,?,?,?)",
                        (int(run_id), rank, world_size, pid, HOST, time.time()))
            return True

    def heartbeat(self, pid: int | None = None) -> None:
        with self.connect(write=True) as con:
            con.execute("UPDATE workers SET heartbeat = ? WHERE pid = ? AND host = ?",
                        (time.time(), os.getpid() if pid is None else pid, HOST))

    def release_worker(self, run_id: int, rank: int = 0) -> None:
        with self.connect(write=True) as con:
            con.execute("DELETE FROM workers WHERE run_id = ? AND rank = ?", (int(run_id), rank))

    def live_workers(self, run_id: int) -> list[tuple[int, int, str]]:
        """(rank, pid, host) of the run's workers that are still alive."""
        with self.connect() as con:
            rows = con.execute("SELECT rank, pid, host, heartbeat FROM workers WHERE run_id = ?",
                               (int(run_id),)).fetchall()
        return [(r[0], r[1], r[2]) for r in rows if _alive(r[1], r[2], r[3])]

    def refresh(self) -> list[int]:
        """Mark queued/running runs without a live worker as interrupted; returns their ids."""
        with self.connect() as con:   # a run just created gets a moment for its worker to register
            active = [r[0] for r in con.execute(
                "SELECT id FROM runs WHERE status IN (?, ?) AND (started IS NOT NULL OR created < ?"
                " OR EXISTS (SELECT 1 FROM workers w WHERE w.run_id = runs.id))",
                (*ACTIVE, time.time() - STARTUP_GRACE))]
        dead = [i for i in active if not self.live_workers(i)]
        if dead:
            with self.connect(write=True) as con:
                for i in dead:   # re-check inside the lock: a worker may have just finished the run
                    con.execute("UPDATE runs SET status = 'interrupted' WHERE id = ? AND status IN (?, ?)",
                                (i, *ACTIVE))
                    con.execute("DELETE FROM workers WHERE run_id = ?", (i,))
        return dead


def _alive(pid: int, host: str, heartbeat: float) -> bool:
    """A lease: a worker is alive while its heartbeat is fresh, and on this host while its pid also lives (a
    dead worker's pid reused by another process does not keep the run 'running' past the lease)."""
    age = time.time() - heartbeat
    if host == HOST:
        return age < LEASE and pid_alive(pid)
    return age < STALE_AFTER


def _get(row, name):
    if name in BASE_COLUMNS:
        return row[name] if isinstance(row, dict) else getattr(row, name)
    return row.get(name) if isinstance(row, dict) else getattr(row, name, None)


def _nullable(value) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else float(value)
