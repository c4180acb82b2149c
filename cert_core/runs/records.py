"""What the run store holds, as records: a run (``Run``), a run's finished examples as arrays (``Examples``), the
statuses a run goes through and the example columns (the SQL schema is ``cert_core.runs.store_file``; the
queries that fill these records, ``cert_core.runs.store``)."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:      # a type hint only: the store builds Run records with the spec it parsed
    from cert_core.runs.spec import RunSpec

STATUSES = ("queued", "running", "done", "cancelled", "interrupted", "failed", "imported")
ACTIVE = ("queued", "running")


class RunList(list):
    """``list_runs``'s answer: the runs that could be read (a list of Run), and ``problems``: one line per run row
    that could not (a bad spec), for the page to show."""

    def __init__(self, runs=(), problems=()):
        super().__init__(runs)
        self.problems: list[str] = list(problems)


@dataclass(frozen=True)
class Run:
    id: int
    name: str
    group: str               # runs started together (e.g. one per σ) share a group
    spec: RunSpec
    total: int               # examples selected
    done: int                # examples finished (all ranks)
    status: str              # one of STATUSES
    device: str
    notes: str               # one line per event worth telling (OOM back-off, waiting for a GPU, ...)
    error: str
    versions: dict
    cancel_requested: bool
    created: float
    started: float | None
    finished: float | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass(frozen=True)
class Examples:
    """The finished examples of a run as arrays, sorted by idx; m rows."""
    idx: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))              # (m,)
    label: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))            # (m,)
    prediction: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))       # (m,) -1 = abstain
    radius: np.ndarray = field(default_factory=lambda: np.zeros(0))                     # (m,)
    p_lower: np.ndarray = field(default_factory=lambda: np.zeros(0))                    # (m,)
    correct: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))              # (m,)
    base_prediction: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # (m,) f(x), -1 unknown
    seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))                    # (m,)
    rank: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))             # (m,)
    finished_at: np.ndarray = field(default_factory=lambda: np.zeros(0))                # (m,) unix time
    sigma: np.ndarray = field(default_factory=lambda: np.zeros(0))                      # (m,) ddrs: σ*_x; nan: none
    root_radius: np.ndarray = field(default_factory=lambda: np.zeros(0))                # (m,) bernstein: NOT a
    #                                                   certificate (Alg. 2's root-finding radius); nan: none
    samples: np.ndarray = field(default_factory=lambda: np.zeros(0))                    # (m,) sequential: noisy
    #                                                   samples drawn (n0 + votes); nan: none

    def __len__(self) -> int:
        return len(self.idx)


EXAMPLE_COLUMNS = tuple(f.name for f in fields(Examples))
BASE_COLUMNS = EXAMPLE_COLUMNS[:10]      # every method fills these; the rest are per method (RunMethod.columns)
