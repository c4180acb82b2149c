"""The certification engine of a run: the registry of run methods and the two calls everything else makes.

* ``run_chunks`` — certify a run's examples chunk by chunk with its method (``RunSpec.method``);
* ``certified`` — read the stored rows as the method certifies them (a ddrs run: after its memory).

A run method is one file, ``cert_core/methods/<name>/run.py``, holding one ``RunMethod``
(``cert_core.runs.method``); adding one is that file plus one entry in ``RUN_METHODS``. The spec, the store,
the worker, the exports, the command line and the runs page all ask ``run_method(name)``; none of them
dispatches on a method's name.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from cert_core.methods.bernstein.run import BERNSTEIN
from cert_core.methods.cohen.run import COHEN
from cert_core.methods.ddrs.run import DDRS
from cert_core.methods.sequential.run import SEQUENTIAL
from cert_core.runs.chunks import Note, Shard
from cert_core.runs.method import RunMethod

RUN_METHODS: dict[str, RunMethod] = {m.name: m for m in (COHEN, DDRS, BERNSTEIN, SEQUENTIAL)}   # the registry


def run_method(name: str) -> RunMethod:
    """The registered method called ``name``; ValueError naming the choices otherwise."""
    try:
        return RUN_METHODS[name]
    except (KeyError, TypeError):
        choices = ", ".join(map(repr, RUN_METHODS))
        raise ValueError(f"The 'method' parameter of RunSpec must be one of {choices}. "
                         f"Got {name!r} instead.") from None


def run_chunks(loaded, data, spec, device: torch.device, shard: Shard = Shard(),
               done: set[int] = frozenset(), on_note: Note = lambda text: None) -> Iterator[list[dict]]:
    """Certify this shard's examples of the run that are not in ``done``; yields rows chunk by chunk."""
    yield from run_method(spec.method).run_chunks(loaded, data, spec, device, shard, done, on_note)


def certified(spec, raw, x: np.ndarray | None = None):
    """The run's examples as its method certifies them; ``x`` (N, *D) are the run's test inputs
    (``cert_core.runs.inputs.run_data(spec).x``), needed only when ``run_method(...).needs_inputs(spec)``."""
    return run_method(spec.method).certified(spec, raw, x)
