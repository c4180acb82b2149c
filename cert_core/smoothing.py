"""Gaussian randomized smoothing: PREDICT and CERTIFY (Cohen, Rosenfeld & Kolter, ICML 2019).

The smoothed classifier is g(x) = argmax_c P(f(x + ε) = c), ε ~ N(0, σ² I). Theorem 1 of the paper
(the lecture's "Robustness guarantee"): if p̲_A ≤ P(f(x+ε) = c_A) then g(x + δ) = c_A for every
‖δ‖₂ < σ Φ⁻¹(p̲_A). ``certify`` follows the paper's CERTIFY exactly: it selects c_A with n0 samples,
estimates p̲_A with n *fresh* samples and a one-sided (1 − α) Clopper–Pearson bound, and abstains
when p̲_A < 1/2. With probability at least 1 − α over the sampling, a non-abstaining certificate is
correct: g(x + δ) = prediction for all ‖δ‖₂ < radius.

Improvements over the reference code: inputs *and* noise samples are batched together (a forward
batch may hold noisy copies of several inputs), counting is one ``torch.bincount`` per batch,
an optional ``torch.Generator`` makes runs reproducible, device and dtype come from the model,
memory is bounded by ``batch_size`` for any n, and results are frozen dataclasses.

Samplers. By default (``sound_float=False``) the noisy input is fl(x + σ·randn) in the model's dtype, as in every
public implementation; Voráček & Hein (ICLR 2023) show this is not sound in floating point (a base classifier can
read the rounding; ``cert_core.methods.float_soundness`` reproduces a false certificate). ``sound_float=True``
uses their sound sampler for inputs on a grid (multiples of 1/``levels``): integer noise from fair coins and exact
thresholds (``cert_core.noise.DiscreteGaussian``), noisy input fl((q + η)/L). Its certificates are Cohen's theorem
for the smoothing of h(z) = f(fl(round(zL)/L)), exact up to a total-variation slack D·tv_bound (about 1e-13 for
D = 784), which is subtracted from p̲_A; so they hold for every grid input within the radius, in floating point.
PREDICT's error probability grows by at most n·D·tv_bound (about 1e-8 for n = 10⁵). Not covered by either: a
model whose own arithmetic is not a fixed function of its input (e.g. batch-dependent kernels).

Shapes: D is the input shape, M the number of inputs, K the number of classes, B the batch size.
"""
from __future__ import annotations

import contextlib
import math
import threading
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from scipy.stats import norm
from torch import nn

from cert_core.noise import ExampleStreams, discrete_gaussian, gaussian_draw, grid_integers
from cert_core.sequential import SequentialConfig, SequentialTest, ladder
from cert_core.stats import binomial_pvalue, gaussian_radius, lower_confidence_bound
from cert_core.validation import check_finite_scores, check_float, check_int
from cert_core.tensors import model_device, model_dtype

ABSTAIN = -1


class Stopped(Exception):
    """A ``should_stop`` callback asked sampling to stop (e.g. a cancelled run). Not a ValueError/RuntimeError,
    so nothing that retries or wraps model errors (out-of-memory back-off) swallows it."""


_STOP = threading.local()


@contextlib.contextmanager
def stop_when(should_stop: Callable[[], bool]):
    """Within this block, in this thread, every forward batch of ``Smooth.sample_counts`` first calls
    ``should_stop()`` and raises ``Stopped`` when it returns True: a cancel request then stops even one long
    example (n = 10⁷) within a forward batch. A plain callable, so the engine knows nothing of runs."""
    previous = getattr(_STOP, "check", None)
    _STOP.check = should_stop
    try:
        yield
    finally:
        _STOP.check = previous


@dataclass(frozen=True)
class Certificate:
    """The outcome of CERTIFY for one input.

    Guarantee (probability ≥ 1 − alpha over the noise): if not abstained, the smoothed classifier
    predicts ``prediction`` everywhere in the open ℓ2 ball of ``radius`` around the input.
    """

    prediction: int             # c_A, or ABSTAIN (-1)
    radius: float               # σ Φ⁻¹(p_lower), 0 when abstained
    p_lower: float              # one-sided (1 − α) Clopper–Pearson lower bound on p_A
    counts: tuple[int, ...]     # votes per class among the n estimation samples, (K,)
    counts0: tuple[int, ...]    # votes per class among the n0 selection samples, (K,)
    n0: int                     # selection samples
    n: int                      # estimation samples
    alpha: float                # failure probability
    sigma: float                # noise level
    seconds: float              # wall-clock time spent on this input
    stop: str = ""              # sequential: why sampling stopped ('certified', 'futile', 'budget'); '' for CERTIFY

    @property
    def abstained(self) -> bool:
        return self.prediction == ABSTAIN


class Smooth:
    """A Gaussian-smoothed classifier g around a base classifier f.

    ``model`` maps (B, *D) inputs to (B, K) scores; f(x) is the argmax. Noise is added in the
    model's input space (a normalisation layer, if any, lives inside the model).
    """

    def __init__(self, model: nn.Module, num_classes: int, sigma: float, sound_float: bool = False,
                 levels: int = 255):
        """``sound_float``: use the sound floating-point sampler (Voráček & Hein 2023) for inputs that are
        multiples of 1/``levels`` (255: 8-bit images); default False, the standard fl(x + σ·randn) sampler."""
        if not callable(model):
            raise ValueError(f"The 'model' parameter of Smooth must be a torch.nn.Module. Got {type(model).__name__} instead.")
        if not isinstance(sound_float, bool):
            raise ValueError(f"The 'sound_float' parameter of Smooth must be a bool. Got {sound_float!r} instead.")
        self.model = model
        self.num_classes = check_int(num_classes, "num_classes", "Smooth", low=2)
        self.sigma = check_float(sigma, "sigma", "Smooth", 0, None, low_open=True)
        self.levels = check_int(levels, "levels", "Smooth", low=1, high=1 << 20)
        self.sound = discrete_gaussian(self.sigma, self.levels) if sound_float else None   # None: standard sampler

    @property
    def sound_float(self) -> bool:
        return self.sound is not None

    # ----------------------------------------------------------------- the paper's algorithms
    def predict(self, x, n: int, alpha: float, batch_size: int = 1000,
                generator: torch.Generator | None = None) -> int:
        """PREDICT: the top class of n noisy votes, or ABSTAIN when the two-sided binomial test
        of the top two counts has p-value > α. Then P(returned class ≠ g(x)) ≤ α."""
        return self.predict_batch(self._as_batch(x, "predict"), n, alpha, batch_size, generator)[0]

    def predict_batch(self, xs, n: int, alpha: float, batch_size: int = 1000,
                      generator: torch.Generator | Sequence[torch.Generator] | None = None) -> list[int]:
        """PREDICT for each of M inputs (M, *D), sampled together in shared forward batches."""
        xs = self._check_inputs(xs, "predict_batch")
        n = check_int(n, "n", "predict", low=1)
        alpha = check_float(alpha, "alpha", "predict", 0, 1, True, True)
        counts = self.sample_counts(xs, n, batch_size, generator).cpu().numpy()  # (M, K)
        predictions = []
        for row in counts:
            top2 = np.argsort(row, kind="stable")[::-1][:2]
            count1, count2 = int(row[top2[0]]), int(row[top2[1]])
            abstain = binomial_pvalue(count1, count2) > alpha
            predictions.append(ABSTAIN if abstain else int(top2[0]))
        return predictions

    def certify(self, x, n0: int, n: int, alpha: float, batch_size: int = 1000,
                generator: torch.Generator | None = None) -> Certificate:
        """CERTIFY for one input x of shape D. Identical to ``certify_batch(x[None])[0]``."""
        return self.certify_batch(self._as_batch(x, "certify"), n0, n, alpha, batch_size, generator)[0]

    def certify_batch(self, xs, n0: int, n: int, alpha: float, batch_size: int = 1000,
                      generator: torch.Generator | Sequence[torch.Generator] | None = None) -> list[Certificate]:
        """CERTIFY for M inputs (M, *D) at once; each result has the same distribution as ``certify``.

        All n0 selection samples of all inputs are drawn first, then all n estimation samples, so
        selection and estimation use independent noise exactly as in the paper. ``seconds`` is the
        batch's time divided by M. Same generator seed and batch_size give identical results; with one
        generator per input (a list of M), input j's certificate depends only on ``generator[j]``'s seed.
        """
        xs = self._check_inputs(xs, "certify_batch")
        n0 = check_int(n0, "n0", "certify", low=1)
        n = check_int(n, "n", "certify", low=1)
        alpha = check_float(alpha, "alpha", "certify", 0, 1, True, True)
        start = time.perf_counter()
        counts0 = self.sample_counts(xs, n0, batch_size, generator).cpu().numpy()  # (M, K)
        counts = self.sample_counts(xs, n, batch_size, generator).cpu().numpy()    # (M, K)
        c_a = counts0.argmax(axis=1)                                               # (M,)
        n_a = counts[np.arange(len(xs)), c_a]                                      # (M,)
        p_lower = np.atleast_1d(lower_confidence_bound(n_a, np.full_like(n_a, n), alpha))     # (M,)
        p_lower = p_lower - self.sampling_slack(xs)                                           # (M,) 0 by default
        abstain = p_lower < 0.5                                                               # (M,)
        radius = np.where(abstain, 0.0, gaussian_radius(np.maximum(p_lower, 0.5), self.sigma))  # (M,)
        prediction = np.where(abstain, ABSTAIN, c_a)                                          # (M,)
        seconds = (time.perf_counter() - start) / len(xs)
        return [Certificate(int(c), float(r), float(p), tuple(cnt.tolist()), tuple(cnt0.tolist()),
                            n0, n, alpha, self.sigma, seconds)
                for c, r, p, cnt, cnt0 in zip(prediction, radius, p_lower, counts, counts0)]

    def certify_sequential(self, x, alpha: float, radius=None, max_n: int = 100_000, n0: int = 100,
                           batch_size: int = 1000, generator: torch.Generator | None = None,
                           on_look: Callable[[SequentialTest], None] | None = None, **options) -> Certificate:
        """Sequential CERTIFY for one input x of shape D: ``certify_sequential_batch(x[None])[0]``."""
        return self.certify_sequential_batch(self._as_batch(x, "certify_sequential"), alpha, radius, max_n, n0,
                                             batch_size, generator, on_look, **options)[0]

    def certify_sequential_batch(self, xs, alpha: float, radius=None, max_n: int = 100_000, n0: int = 100,
                                 batch_size: int = 1000, generator: torch.Generator | None = None,
                                 on_look: Callable[[SequentialTest], None] | None = None,
                                 **options) -> list[Certificate]:
        """Sequential, anytime-valid CERTIFY for M inputs (M, *D): Cohen's guarantee from fewer samples.

        Guarantee (``cert_core.sequential``: Ville's inequality for Beta-mixture likelihood-ratio
        supermartingales, tested over a fixed ladder of thresholds in order): with probability ≥ 1 − α, a
        non-abstaining certificate is correct, **whatever the stopping rule**. c_A is selected with n0 votes,
        then fresh votes for c_A are counted (the selection votes never enter the bound) and looked at after
        ~10% more each time; an input that has stopped draws no more, the others share forward batches.

        ``radius`` r: stop once "radius ≥ r" is certified or futile (not certifiable within ``max_n``) and
        return the radius certified then (≥ r, or below it). A sequence of radii (a grid): certify each in
        turn and return the largest certified. None: an anytime lower bound on p_A, stopped when the radius
        cannot grow by ``growth`` (default 10%) within max_n. ``cert.n0 + cert.n`` are the votes drawn;
        ``options`` are further ``SequentialConfig`` fields (futility, growth, first_look, look_growth).
        ``on_look(test)``, if given, is called after every look with the running ``SequentialTest`` (votes so far
        ``test.n``, bound ``test.p_lower()``, radius ``test.radius()``, all (M,)): the bound along the sampling
        path, valid at each look, as the point inspector draws it tightening.
        """
        xs = self._check_inputs(xs, "certify_sequential_batch")
        config = SequentialConfig(check_float(alpha, "alpha", "certify_sequential", 0, 1, True, True),
                                  check_int(max_n, "max_n", "certify_sequential", low=1), **options)
        n0 = check_int(n0, "n0", "certify_sequential", low=1)
        lad, m = ladder(self.sigma, radius, config), len(xs)
        start = time.perf_counter()
        counts0 = self.sample_counts(xs, n0, batch_size, generator).cpu().numpy()  # (M, K)
        c_a = counts0.argmax(axis=1)                                               # (M,)
        counts, test = np.zeros_like(counts0), SequentialTest(lad, config, m)      # (M, K)
        while not test.done.all():
            sizes = test.next_sizes()                                              # (M,) 0 when stopped
            go = np.flatnonzero(sizes)
            new = self.sample_counts(xs[go], torch.as_tensor(sizes[go]), batch_size, generator).cpu().numpy()
            counts[go] += new
            successes = np.zeros(m, dtype=np.int64)
            successes[go] = new[np.arange(len(go)), c_a[go]]
            test.observe(successes, sizes)
            if on_look is not None:
                on_look(test)
        seconds = (time.perf_counter() - start) / m
        p_lower, radii = test.p_lower(), test.radius()
        if self.sound is not None:          # the anytime bound is on the sampled law: subtract the TV slack
            slack = self.sampling_slack(xs)
            p_lower = p_lower - slack
            radii = np.where(radii > 0, self.sigma * norm.ppf(np.clip(norm.cdf(radii / self.sigma) - slack, 0.5, 1)),
                             radii)
        return [Certificate(int(c) if k > 0 else ABSTAIN, float(r), float(p), tuple(cnt.tolist()),
                            tuple(cnt0.tolist()), n0, int(n), config.alpha, self.sigma, seconds, str(why))
                for c, k, r, p, cnt, cnt0, n, why in zip(c_a, test.k, radii, p_lower, counts, counts0, test.n,
                                                         test.stop)]

    # ----------------------------------------------------------------- sampling
    def sample_counts(self, xs: torch.Tensor, num, batch_size: int = 1000,
                      generator: torch.Generator | Sequence[torch.Generator] | None = None) -> torch.Tensor:
        """Votes of f on ``num`` noisy copies of each input: (M, K) int64 on the model's device.
        ``num`` is an int, or an (M,) integer tensor of per-input numbers (the sequential rounds).

        The M·num noisy samples are enumerated input-major and evaluated ``batch_size`` at a time,
        so one forward batch may mix copies of several inputs; memory is O(batch_size) for any num.
        ``generator`` is one ``torch.Generator`` for all inputs, or a sequence of M generators: input j's
        noise then comes only from ``generator[j]`` (``cert_core.noise``), so its votes do not depend on
        ``batch_size`` or on the other inputs of the call (with either sampler).
        Raises ``NonFiniteScoresError`` (a ValueError) when f returns NaN or ±inf scores on any sample.
        """
        batch_size = check_int(batch_size, "batch_size", "certify", low=1)
        self.model.eval()
        device, dtype = self._device_dtype(xs)
        xs = xs.to(device=device, dtype=dtype)
        if self.sound is not None:
            xs = grid_integers(xs, self.sound, dtype)                               # (M, *D) q = xL, exact
        m, k = xs.shape[0], self.num_classes
        counts = torch.zeros(m * k, dtype=torch.long, device=device)
        ends = torch.cumsum(num.to(device=device, dtype=torch.long), 0) if torch.is_tensor(num) else None  # (M,)
        total = m * int(num) if ends is None else int(ends[-1])
        steps = torch.arange(min(batch_size, total), device=device)   # reused: fewer ops per batch
        streams = None
        if isinstance(generator, (list, tuple)):
            if len(generator) != m:
                raise ValueError(f"The 'generator' parameter of certify must be one torch.Generator or one per input "
                                 f"({m}). Got {len(generator)} instead.")
            if ends is not None:
                raise ValueError("The 'num' parameter of sample_counts must be one int when the generator is one "
                                 "per input. Got per-input numbers instead.")
            streams = ExampleStreams(generator, num, xs.shape[1:], device, dtype,
                                     gaussian_draw if self.sound is None else self.sound.draw)
        should_stop = getattr(_STOP, "check", None)
        with torch.inference_mode():
            for start in range(0, total, batch_size):
                if should_stop is not None and should_stop():
                    raise Stopped("Sampling was stopped (cancelled).")
                size = min(batch_size, total - start)
                if ends is None:
                    owner = (steps[:size] + start).div_(int(num), rounding_mode="floor")    # (B,)
                else:
                    owner = torch.searchsorted(ends, steps[:size] + start, right=True)      # (B,)
                noise = (streams.take(start, size) if streams is not None
                         else self._noise((size, *xs.shape[1:]), generator, device, dtype))      # (B, *D)
                if self.sound is None:
                    noisy = torch.add(xs[owner], noise, alpha=self.sigma)                    # (B, *D)
                else:
                    noisy = torch.add(xs[owner], noise).div_(self.levels)                    # (B, *D) fl((q+η)/L)
                labels = self._classify(noisy)                                               # (B,)
                counts += torch.bincount(owner.mul_(k).add_(labels), minlength=m * k)
        return counts.view(m, k)

    def _noise(self, shape, generator, device, dtype) -> torch.Tensor:
        # Draw on the generator's device (a CPU generator may drive a GPU model), then move.
        draw = gaussian_draw if self.sound is None else self.sound.draw             # N(0, I), or integer η
        return draw(shape, generator, device, dtype).to(device)

    def sampling_slack(self, xs) -> float:
        """How far the sampled vote probabilities may be from the exact smoothing: 0 for the standard sampler
        (which assumes, unsoundly, that fl(x + σ·randn) is Gaussian), D·tv_bound for the sound one."""
        return 0.0 if self.sound is None else math.prod(xs.shape[1:]) * self.sound.tv_bound

    def _classify(self, batch: torch.Tensor) -> torch.Tensor:
        try:
            scores = self.model(batch)  # (B, K)
        except torch.OutOfMemoryError:
            raise  # callers (the run worker) back off the batch size on this exact type
        except RuntimeError as error:
            raise ValueError(f"The model could not be evaluated on inputs of shape {tuple(batch.shape[1:])}: {error}") from None
        if scores.ndim != 2 or scores.shape[1] != self.num_classes:
            raise ValueError(f"The model must return scores of shape (B, {self.num_classes}). Got {tuple(scores.shape)} instead.")
        check_finite_scores(scores, "noisy samples of a forward batch")  # a NaN row would vote for class 0
        return scores.argmax(dim=1)

    # ----------------------------------------------------------------- helpers
    def _device_dtype(self, xs: torch.Tensor):
        """From the model's parameters, else from the input."""
        return (model_device(self.model, xs.device),
                model_dtype(self.model, xs.dtype if xs.dtype.is_floating_point else torch.float32))

    def _as_batch(self, x, func: str) -> torch.Tensor:
        x = _to_tensor(x, "x", func)
        if x.ndim == 0:
            raise ValueError(f"The 'x' parameter of {func} must be one input of shape D (at least 1-D). Got a scalar instead.")
        return x.unsqueeze(0)

    def _check_inputs(self, xs, func: str) -> torch.Tensor:
        xs = _to_tensor(xs, "xs", func)
        if xs.ndim < 2 or xs.shape[0] == 0:
            raise ValueError(f"The 'xs' parameter of {func} must be a non-empty batch of shape (M, *D). Got shape {tuple(xs.shape)} instead.")
        return xs


def _to_tensor(x, name: str, func: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"The '{name}' parameter of {func} must be a torch.Tensor or numpy array. Got {type(x).__name__} instead.")
    if not x.dtype.is_floating_point:
        x = x.float()
    if not torch.isfinite(x).all():
        raise ValueError(f"The '{name}' parameter of {func} must contain only finite values. Got NaN or inf instead.")
    return x
