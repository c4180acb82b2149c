"""The run-method protocol: everything a certification method tells the engine, the store, the exports, the
command line and the runs page. A method is one file (``cert_core/methods/<name>/run.py``) holding one
``RunMethod`` subclass, registered by one line in ``cert_core.runs.engine.RUN_METHODS``; nothing else
dispatches on its name.

Everything here is pure data or numpy (cert_core never imports streamlit): the runs page renders the form
fields, metrics, curves and captions a method returns.

Shapes: m finished examples, N test inputs, D the input shape.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import numpy as np

from cert_core.runs.chunks import Note, Shard

if TYPE_CHECKING:
    import torch

    from cert_core.runs.inputs import RunData
    from cert_core.runs.spec import RunSpec
    from cert_core.runs.records import Examples


@dataclass(frozen=True)
class FormField:
    """One of a method's ``RunSpec`` parameters as the runs page asks for it (its default is the RunSpec's)."""
    name: str                          # the RunSpec field
    label: str                         # what the form says
    help: str                          # the tooltip
    low: float | None = None           # numbers: the smallest value allowed
    high: float | None = None          # numbers: the largest value allowed
    step: float | None = None          # floats: the step of the +/- buttons
    choices: tuple[str, ...] = ()      # a choice among these strings (else: number or, for a bool, a checkbox)


@dataclass(frozen=True)
class Metric:
    label: str                         # what the live view shows above the curve
    value: str                         # already formatted
    help: str = ""


@dataclass(frozen=True)
class Companion:
    """An optional run of another method the same start creates beside each of this one's (a baseline)."""
    label: str                         # the checkbox
    help: str
    default: bool = False


class RunMethod:
    """A certification method over a test set. Subclasses set the attributes and override what differs;
    one instance per method is registered (``cert_core.runs.engine.RUN_METHODS``)."""

    name: str = ""                                  # RunSpec.method, stored with every run
    label: str = ""                                 # the runs page's choice ("Per-input σ (DDRS)")
    table_name: str = ""                            # paper tables and exports ("DDRS (σ*ₓ)")
    summary: str = ""                               # one sentence: what it certifies (the runs page's help)
    fields: tuple[FormField, ...] = ()              # its own RunSpec parameters, as the form shows them
    columns: tuple[str, ...] = ()                   # Examples columns it fills besides the base ones
    noisy: bool = True                              # Gaussian noise at the run's σ > 0 (else σ must be 0)
    cpu_only: bool = False                          # certifies with numpy: runs on the CPU whatever is asked
    sigma_field: tuple[str, str] = ("σ (one or several)", "Noise levels, comma separated: one run per σ.")
    companion: Companion | None = None              # a Cohen baseline the same start may add
    cli: bool = False                               # `python -m cert_core certify` reproduces it

    # ------------------------------------------------------------------ the spec
    def describe(self, spec: RunSpec) -> str:
        """The method and its parameters in a few words (run names, tables)."""
        return f"σ={spec.sigma:g}"

    def display_name(self, spec: RunSpec) -> str:
        """The name in paper tables; says so when the numbers are not certificates."""
        return self.table_name

    def samples_per_example(self, spec: RunSpec) -> float:
        """Forward passes per example (nan when its cost is not samples)."""
        return spec.n0 + spec.n

    def plan(self, sigmas: tuple[float, ...], with_companion: bool) -> list[tuple[float, bool]]:
        """The runs one start creates, in order: (σ, is the companion run) pairs."""
        return [run for s in sigmas for run in ([(s, True)] if with_companion and self.companion else []) + [(s, False)]]

    def cli_flags(self, spec: RunSpec) -> str:
        """The flags ``python -m cert_core certify`` needs, besides the common ones, to rerun ``spec`` (read only
        when ``cli``; '' for none)."""
        return ""

    def check_spec(self, spec: RunSpec) -> None:
        """A clear ValueError when the method's own RunSpec fields are invalid (called by RunSpec)."""

    def check_model(self, model, num_classes: int, params: dict) -> None:
        """A clear ValueError before a run starts when the model cannot be certified this way."""

    # ------------------------------------------------------------------ certifying
    def run_chunks(self, loaded, data: RunData, spec: RunSpec, device: torch.device, shard: Shard,
                   done: set[int], on_note: Note) -> Iterator[list[dict]]:
        """Certify this shard's examples of the run not in ``done``; yields row dicts chunk by chunk."""
        raise NotImplementedError

    # ------------------------------------------------------------------ reading
    def needs_inputs(self, spec: RunSpec) -> bool:
        """Whether ``certified`` needs the run's test inputs."""
        return False

    def certified(self, spec: RunSpec, raw: Examples, x: np.ndarray | None = None) -> Examples:
        """The stored rows as the method certifies them (``x``: (N, *D) test inputs when ``needs_inputs``)."""
        return raw

    def unreadable(self, spec: RunSpec, exc: Exception) -> str:
        """What the page says when ``certified`` failed (it then shows the stored rows)."""
        return f"The run could not be read as {self.label} certifies it ({exc}); showing the stored rows."

    def live_metrics(self, spec: RunSpec, raw: Examples, view: Examples) -> list[Metric]:
        return []

    def extra_curves(self, spec: RunSpec, raw: Examples, view: Examples) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """(label, radii (m,), correct (m,)) curves drawn beside the run's certified accuracy."""
        return []

    def caption(self, spec: RunSpec) -> str:
        """What the live view says under the method's metrics ('' for nothing)."""
        return ""

    def example_columns(self, spec: RunSpec, raw: Examples, view: Examples) -> dict[str, np.ndarray]:
        """Extra (m,) columns of the examples table."""
        return {}
