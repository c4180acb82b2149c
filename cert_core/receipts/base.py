"""What a receipt is: a published claim, recomputed by the product's own code, with a verdict.

A ``Receipt`` names a claim, its source and the view of the app that shows it; its ``check`` recomputes the
numbers with the same cert_core functions the pages run (never a re-derivation) and returns a frozen
``ReceiptResult``: one ``Line`` per number (ours, the published value, the verdict) under one stated tolerance.
``Scale`` says how much work a check may do: ``PAGE`` is what the receipts page runs (the whole page in about a
minute on 2 CPU cores), ``TEST`` the smaller but still meaningful setting the test suite runs; each receipt says
what it changes between the two.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Literal

Scale = Literal["page", "test"]
SCALES: tuple[Scale, ...] = ("page", "test")


@dataclass(frozen=True)
class View:
    """The view of the app that shows the claim: a page key of ui/navigation.PAGES and the link's state."""
    page: str                                   # a key of ui.navigation.BY_KEY, e.g. "ddrs"
    model: str | None = None                    # zoo name for the shared link (None: the page's current model)
    sigma: float | None = None
    point: tuple[float, float] | None = None
    label: str = ""                             # what to look at once there


@dataclass(frozen=True)
class Line:
    """One recomputed number next to the published one."""
    label: str                                  # e.g. "n = 10³"
    ours: str                                   # formatted, as the card shows it
    expected: str                               # the published value or the bound it must respect
    passed: bool


@dataclass(frozen=True)
class ReceiptResult:
    key: str
    claim: str                                  # the published statement, in one sentence
    source: str                                 # paper and table / figure / equation, or issue thread
    tolerance: str                              # how close "✓" means, in words
    lines: tuple[Line, ...]
    view: View
    note: str = ""                              # where and why our setting differs from the source
    setting: str = ""                           # what was run (model, n, α, seed)
    seconds: float = 0.0                        # wall clock of the check

    @property
    def passed(self) -> bool:
        return bool(self.lines) and all(line.passed for line in self.lines)

    @property
    def ours(self) -> str:
        return "; ".join(f"{line.label}: {line.ours}" for line in self.lines)

    @property
    def expected(self) -> str:
        return "; ".join(f"{line.label}: {line.expected}" for line in self.lines)


@dataclass(frozen=True)
class Receipt:
    """A registry entry: ``check(scale)`` recomputes the claim (deterministic for a given scale)."""
    key: str
    title: str                                  # the card's heading
    check: Callable[[Scale], ReceiptResult]

    def run(self, scale: Scale = "page") -> ReceiptResult:
        if scale not in SCALES:
            raise ValueError(f"The 'scale' parameter of Receipt.run must be one of {SCALES}. Got {scale!r} instead.")
        start = time.perf_counter()
        result = self.check(scale)
        return replace(result, key=self.key, seconds=time.perf_counter() - start)


def close(ours: float, expected: float, tol: float) -> bool:
    """|ours − expected| ≤ tol (the tolerance each card states)."""
    return abs(float(ours) - float(expected)) <= tol
