"""The runs page's reading of stored runs as their methods certify them (``cert_core.runs.engine.certified``):
e.g. a ddrs run's memory (Alfarra et al. 2022, Sec. 3.5) is applied over its finished examples in index order,
which needs the run's test inputs (loaded once per run spec and cached)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from cert_core.runs import inputs as run_inputs
from cert_core.runs.engine import certified, run_method
from cert_core.runs.records import Examples, Run
from cert_core.runs.store import RunSpec, RunStore


@dataclass(frozen=True)
class RunView:
    run: Run
    raw: Examples            # the stored rows (ddrs: CERTIFY at σ*_x, before the memory)
    ex: Examples             # as the method certifies them (ddrs: after the memory)
    problem: str = ""        # why the method's reading could not be applied (then ex is raw)


@st.cache_resource(show_spinner="Loading the run's test inputs for the memory…", max_entries=16)
def _inputs(spec_json: str) -> np.ndarray:
    return run_inputs.run_data(RunSpec.from_json(spec_json)).x              # (N, *D)


@st.cache_data(show_spinner=False, max_entries=64)
def _certified(spec_json: str, run_id: int, done: int, _raw: Examples) -> Examples:
    spec = RunSpec.from_json(spec_json)
    return certified(spec, _raw, _inputs(spec_json))


def view(store: RunStore, run: Run) -> RunView:
    """The run's examples, raw and certified; never raises (a problem is reported in ``problem``)."""
    raw = store.examples(run.id)
    if not run_method(run.spec.method).needs_inputs(run.spec) or not len(raw):
        return RunView(run, raw, run_method(run.spec.method).certified(run.spec, raw))
    try:
        return RunView(run, raw, _certified(run.spec.to_json(), run.id, len(raw), raw))
    except (ValueError, OSError, FileNotFoundError) as exc:
        return RunView(run, raw, raw, run_method(run.spec.method).unreadable(run.spec, exc))
