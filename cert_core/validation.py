"""Validation at the public boundary, with one message shape.

Every public function of ``cert_core`` checks its arguments with these helpers, so a bad
argument always raises ``ValueError`` worded like scikit-learn's::

    The 'alpha' parameter of certify must be a float in (0, 1). Got 1.5 instead.

A model's outputs are checked where they become votes: ``check_finite_scores`` raises
``NonFiniteScoresError`` (a ``ValueError``) naming how many samples gave NaN or ±inf scores.
"""
from __future__ import annotations

import math
from numbers import Integral, Real


def _fail(name: str, func: str, expected: str, value) -> None:
    raise ValueError(f"The '{name}' parameter of {func} must be {expected}. Got {value!r} instead.")


def _interval(low, high, low_open, high_open) -> str:
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    return f"{left}{lo}, {hi}{right}"


def check_float(value, name: str, func: str, low=None, high=None,
                low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a finite float inside the interval, or raise ``ValueError``."""
    expected = f"a float in {_interval(low, high, low_open, high_open)}"
    if isinstance(value, bool) or not isinstance(value, Real):
        _fail(name, func, expected, value)
    v = float(value)
    if not math.isfinite(v):
        _fail(name, func, expected, value)
    if low is not None and (v < low or (low_open and v == low)):
        _fail(name, func, expected, value)
    if high is not None and (v > high or (high_open and v == high)):
        _fail(name, func, expected, value)
    return v


def check_int(value, name: str, func: str, low=None, high=None) -> int:
    """Return ``value`` as an int inside the closed interval, or raise ``ValueError``."""
    if low is not None and high is not None:
        expected = f"an int in [{low}, {high}]"
    elif low is not None:
        expected = f"an int >= {low}"
    elif high is not None:
        expected = f"an int <= {high}"
    else:
        expected = "an int"
    if isinstance(value, bool) or not isinstance(value, Integral):
        _fail(name, func, expected, value)
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        _fail(name, func, expected, value)
    return v


def check_choice(value, name: str, func: str, choices) -> str:
    """Return ``value`` if it is one of ``choices``, or raise ``ValueError``."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        _fail(name, func, f"one of {options}", value)
    return value


class NonFiniteScoresError(ValueError):
    """A model returned NaN or ±inf class scores where its output is used as a vote or a margin.

    Such a row is no vote for any class (torch's argmax picks the first NaN, so an all-NaN row would
    count for class 0), and an infinite logit makes an infinite margin; a prediction or certificate
    built on it would be silently wrong, so the counters raise this instead.
    """


def check_finite_scores(scores, total_name: str) -> None:
    """Raise ``NonFiniteScoresError`` if the (B, K) tensor ``scores`` holds NaN or ±inf.

    One ``isfinite().all()`` per batch; the offending rows are counted only on failure. ``total_name``
    says what the B rows are, e.g. "noisy samples of a forward batch".
    """
    finite = scores.isfinite()
    if not bool(finite.all()):
        bad = int((~finite).reshape(len(scores), -1).any(dim=1).sum())
        raise NonFiniteScoresError(
            f"The model returned non-finite scores (NaN or ±inf) on {bad} of {len(scores)} {total_name}; "
            "its vote there is undefined, so no prediction or certificate can be given. Check the model "
            "on such inputs (overflow, log of 0, division by 0, NaN weights) or lower the noise level.")


def byte_size(n: int) -> str:
    """``n`` bytes for a message: '512 B', '38.0 KiB', '1.0 GiB' (limits are named in the units users see)."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} B"
