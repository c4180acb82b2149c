"""Voráček & Hein (ICLR 2023): the floating-point counterexample breaks the standard sampler and not the sound
one; the sound sampler draws the exact discretised Gaussian, keeps noise a function of (seed, example), refuses
off-grid input with a clear error, and leaves the default sampler bit-identical."""
import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from cert_core.methods.float_soundness.counterexample import (FloatCounterexampleParams, ScaledFloatDetector,
                                                              float_counterexample)
from cert_core.noise import (COIN_BITS, GUIDE_BITS, _lookup_torch, _tables_on, discrete_gaussian,
                             example_generators)
from cert_core.smoothing import Smooth

FAST = FloatCounterexampleParams()           # n = 4,000: the app shows the same numbers


@pytest.fixture(scope="module")
def result():
    return float_counterexample(FAST)


def test_the_standard_sampler_certifies_a_ball_that_holds_a_flip(result):
    assert result.standard_prediction == 0 and result.flip_prediction == 1
    assert result.standard_radius > 2 * result.distance > 1.5       # the paper: radius 1.26, flip at 0.8
    assert result.flip_p_upper < 0.5 and result.standard_broken


def test_the_detector_reads_only_rounding():
    """Every fl(σ·z) is class 0; a float the product skips is class 1, though it is within one float step of a
    class-0 value: no real-valued classifier, only the rounding, tells them apart."""
    detector = ScaledFloatDetector(0.7)
    z = torch.randn(10_000, 8, generator=torch.Generator().manual_seed(3))
    assert detector.reachable(z * torch.tensor(0.7)).all()
    grid = torch.arange(1 << 20, dtype=torch.int32).add_(int(torch.tensor(1.6).view(torch.int32))).view(torch.float32)
    share = detector.reachable(grid[:, None]).double().mean().item()   # [1.6, 1.725): above m·2^0 = 1.4
    assert abs(share - 1 / 1.4) < 0.01                                 # one float in m = 1.4 is reached


def test_the_sound_sampler_is_consistent_at_the_same_points(result):
    assert result.sound_consistent
    assert 0 < result.sound_slack < 1e-10


def test_the_sound_sampler_draws_the_discretised_gaussian():
    sampler = discrete_gaussian(0.5, 16)                           # σL = 8 cells
    eta = sampler.draw((200_000,), torch.Generator().manual_seed(0), "cpu", torch.float64)
    cells = np.arange(-4, 5)
    exact = norm.cdf((cells + 0.5) / 8) - norm.cdf((cells - 0.5) / 8)
    seen = np.array([(eta == c).double().mean().item() for c in cells])
    assert np.abs(seen - exact).max() < 5 * math.sqrt(0.05 / 200_000)    # seeded, ~5 standard errors
    assert eta.eq(eta.round()).all() and sampler.tv_bound < 1e-15
    assert sampler.thresholds == tuple((1 << 62) - t for t in reversed(sampler.thresholds))   # exactly symmetric


def test_the_cpu_and_torch_lookups_give_the_same_noise_from_the_same_coins():
    """The CPU draws its coins with numpy's PCG64 (seeded by one draw of the generator) and looks η up in numpy;
    other devices use the torch ops: the same coins give the same η."""
    sampler = discrete_gaussian(1.0, 255)
    eta = sampler.draw((500, 64), torch.Generator().manual_seed(2), "cpu", torch.float64)
    coins = np.random.PCG64(int(torch.randint(0, 1 << 62, (1,), generator=torch.Generator().manual_seed(2))))
    top = torch.from_numpy(coins.random_raw(500 * 64 // 4).view(np.uint16).astype(np.int64))   # 4 per word
    low = np.random.Generator(coins)
    again = _lookup_torch(top, _tables_on(sampler, "cpu"), sampler.cells, lambda size: torch.from_numpy(
        low.integers(0, 1 << (COIN_BITS - GUIDE_BITS), size, dtype=np.int64)))
    assert torch.equal(eta.view(-1), again.double()) and torch.isnan(_tables_on(sampler, "cpu").eta).any()


def test_sound_votes_ignore_batch_size_and_the_default_is_unchanged():
    detector = ScaledFloatDetector(0.5 + 1 / 3)
    xs = torch.tensor([[0.0, 3 / 255], [1.0, 0.5 - 0.5 / 255]])
    sound = Smooth(detector, 2, 0.5, sound_float=True)
    votes = [sound.sample_counts(xs, 300, b, example_generators([4, 5], "cpu")) for b in (7, 1000)]
    assert torch.equal(votes[0], votes[1])
    plain, default = Smooth(detector, 2, 0.5), Smooth(detector, 2, 0.5, sound_float=False)
    assert torch.equal(plain.sample_counts(xs, 300, 64, torch.Generator().manual_seed(1)),
                       default.sample_counts(xs, 300, 64, torch.Generator().manual_seed(1)))


def test_bad_input_gets_a_clear_error():
    detector = ScaledFloatDetector(0.7)
    with pytest.raises(ValueError, match="grid of multiples of 1/255"):
        Smooth(detector, 2, 0.5, sound_float=True).certify(torch.full((3,), 0.001), 10, 10, 0.01)
    with pytest.raises(ValueError, match="'sound_float' parameter of Smooth must be a bool"):
        Smooth(detector, 2, 0.5, sound_float="yes")
    with pytest.raises(ValueError, match="'shift' parameter of float_counterexample"):
        float_counterexample(FloatCounterexampleParams(shift=0))
