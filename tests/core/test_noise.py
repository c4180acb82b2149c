"""An example's noise depends on (seed, example) only: per-example streams give the same certificates for any
batch size, any companions in the call, any cut into chunks, any ranks and a resume; the samples are still
independent N(0, I) (Cohen's CERTIFY unchanged)."""
import numpy as np
import pytest
import torch

from cert_core.methods.cohen.run import certify_chunks, example_seeds
from cert_core.noise import ExampleStreams, block_size, example_generators
from cert_core.runs.chunks import Shard
from cert_core.runs.inputs import RunData
from cert_core.runs.spec import RunSpec
from cert_core.runs.store import RunStore
from cert_core.runs.worker import run_shard
from cert_core.models.data import load_dataset
from cert_core.models.zoo import load_zoo_model
from cert_core.smoothing import Smooth


@pytest.fixture(scope="module")
def digits():
    loaded = load_zoo_model("digits-cnn-s0.25")
    ds = load_dataset(**loaded.metadata["dataset"])
    return loaded, RunData(ds.x_test, ds.y_test, ds.num_classes), ds


def spec_for(ds, **kw):
    base = dict(n0=20, n=300, alpha=0.01, batch=64, max_examples=8, device="cpu", seed=5)
    return RunSpec({"zoo": "digits-cnn-s0.25"}, dict(ds.spec), 0.5, **{**base, **kw})


def rows(chunks):
    out = {r["idx"]: (r["prediction"], r["radius"], r["p_lower"]) for chunk in chunks for r in chunk}
    return [out[i] for i in sorted(out)]


def test_streams_do_not_depend_on_how_they_are_read():
    def read(sizes, num=37, m=3):
        streams = ExampleStreams(example_generators([1, 2, 3][:m], "cpu"), num, (2, 5), "cpu", torch.float32)
        parts, pos = [], 0
        for size in sizes:
            parts.append(streams.take(pos, size))
            pos += size
        return torch.cat(parts)
    whole = read([111])
    for sizes in ([1] * 111, [7] * 15 + [6], [36, 38, 37], [100, 11]):
        assert torch.equal(read(sizes), whole)
    assert torch.equal(read([37], m=1), whole[:37])                  # input 0's samples without the others
    with pytest.raises(ValueError, match="in order"):
        ExampleStreams(example_generators([1], "cpu"), 5, (2,), "cpu", torch.float32).take(3, 1)
    assert block_size(100, (3, 224, 224)) == 27 and block_size(100, (2,)) == 100


def test_streams_are_standard_normal_and_independent_across_inputs():
    streams = ExampleStreams(example_generators(range(40), "cpu"), 500, (4,), "cpu", torch.float64)
    z = streams.take(0, 40 * 500).view(40, 500 * 4).numpy()
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    corr = np.corrcoef(z[:, :400])                                    # inputs' first samples: uncorrelated
    assert np.abs(corr[~np.eye(40, dtype=bool)]).max() < 0.25


def test_certify_batch_per_input_generators_ignore_batch_size_and_companions(digits):
    loaded, data, _ = digits
    smooth = Smooth(loaded.model, data.num_classes, 0.5)
    xs = torch.from_numpy(data.x[:4])

    def certs(x, seeds, batch):
        return [(c.counts0, c.counts, c.p_lower) for c in
                smooth.certify_batch(x, 20, 300, 0.01, batch, example_generators(seeds, "cpu"))]
    ref = certs(xs, [11, 12, 13, 14], 1000)
    assert certs(xs, [11, 12, 13, 14], 7) == ref
    assert certs(xs[2:3], [13], 64) == ref[2:3]
    assert certs(xs[[3, 0]], [14, 11], 50) == [ref[3], ref[0]]
    with pytest.raises(ValueError, match="one per input"):
        smooth.certify_batch(xs, 5, 5, 0.01, 10, example_generators([1], "cpu"))


def test_cohen_certificates_do_not_depend_on_batch_chunks_ranks_or_resume(digits, tmp_path):
    loaded, data, ds = digits
    spec = spec_for(ds)
    smooth = Smooth(loaded.model, data.num_classes, spec.sigma)
    select = spec.select(len(data.y))
    ref = rows(certify_chunks(smooth, data, select, spec, torch.device("cpu")))
    for batch in (7, 1000):                                          # other chunk sizes too (chunk_size)
        assert rows(certify_chunks(smooth, data, select, spec_for(ds, batch=batch), torch.device("cpu"))) == ref
    shuffled = np.random.default_rng(0).permutation(select)          # any cut and order (dynamic chunking)
    assert rows(certify_chunks(smooth, data, shuffled, spec, torch.device("cpu"))) == ref
    store = RunStore(tmp_path / "r.sqlite")
    sharded = store.create_run(spec, len(select))
    for rank in (1, 0):
        run_shard(store, sharded, Shard(rank, 2), loaded, data, settle_run=False)
    resumed = store.create_run(spec, len(select))                     # cancelled after 3 examples, resumed
    run_shard(store, resumed, Shard(), loaded, data,
              on_rows=lambda r: store.request_cancel(resumed) if store.get(resumed).done >= 3 else None)
    assert 3 <= store.get(resumed).done < len(select)
    store.request_cancel(resumed, False)
    run_shard(store, resumed, Shard(), loaded, data)
    for run in (sharded, resumed):
        ex = store.examples(run)
        assert list(zip(ex.prediction.tolist(), ex.radius.tolist(), ex.p_lower.tolist())) == ref


def test_seeds_are_keyed_by_example():
    assert example_seeds(5, [3, 4]) == [example_seeds(5, [3])[0], example_seeds(5, [4])[0]]
    assert example_seeds(5, [3]) != example_seeds(6, [3])
