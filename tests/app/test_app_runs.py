"""AppTest of the certification runs page: start a run (a real background worker on a tmp store), live
metrics and curve, compare/table/examples, import, bad inputs, and the method selector (DDRS beside a fixed-σ
Cohen run; Bernstein on a bottleneck model, and on a model without one)."""
import time

import pytest

from apptest_kit import page_test, page_text
from cert_core.runs.store import RunStore
from ui import navigation

PAGE = navigation.RUNS
TSV = "idx\tlabel\tpredict\tradius\tcorrect\ttime\n0\t1\t1\t0.5\t1\t0.1\n3\t0\t-1\t0.0\t0\t0.1\n"


@pytest.fixture
def store_path(tmp_path, monkeypatch):
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("CERT_EXPLORER_RUNS", str(path))
    return path


def page():
    return page_test(PAGE, timeout=120)


texts = page_text


def start(at, **values):
    """Fill the start form and press Start."""
    if "rn_method" in values:                     # outside the form: its fields appear after a rerun
        at.radio(key="rn_method").set_value(values.pop("rn_method")).run()
    for key, value in values.items():
        if key in ("rn_sigmas", "rn_root"):
            at.text_input(key=key).set_value(value)
        elif key in ("rn_data", "rn_smooth", "rn_radii"):
            at.selectbox(key=key).set_value(value)
        elif key == "rn_device":
            at.radio(key=key).set_value(value)
        elif key in ("rn_memory", "rn_with_cohen", "rn_root_finding"):
            at.checkbox(key=key).set_value(value)
        else:
            at.number_input(key=key).set_value(value)
    at.get("form_submit_button")[0].click()
    at.run()


def test_empty_store_default_path(store_path):
    at = page()
    at.run()
    assert not at.exception
    assert at.title[0].value == "Certification runs"
    assert "No runs yet" in texts(at) and "Nothing to compare yet" in texts(at)


def test_start_run_goes_live_and_compares(store_path):
    at = page()
    at.run()
    start(at, rn_sigmas="0.25, 0.5", rn_max=12, rn_n0=10, rn_n=200, rn_batch=400, rn_device="cpu")
    assert not at.exception and not at.error, [e.value for e in at.error]
    store = RunStore(store_path)
    runs = store.list_runs()
    assert sorted(r.spec.sigma for r in runs) == [0.25, 0.5] and len({r.group for r in runs}) == 1
    end = time.time() + 120
    while time.time() < end and any(r.status != "done" for r in store.list_runs()):
        time.sleep(0.3)
    assert [r.status for r in store.list_runs()] == ["done", "done"]
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Examples done"] == "12/12" and float(metrics["ACR"]) >= 0
    assert 0 <= float(metrics["Abstain rate"]) <= 1
    assert len(at.get("plotly_chart")) >= 2                                   # live + compare
    table = at.dataframe[0].value
    assert len(table) == 2 and "r = 0.25" in table.columns and "ACR" in table.columns
    at.segmented_control(key="cmp_outcome").set_value("abstained").run()
    assert "examples" in texts(at)


def test_bad_inputs_are_messages(store_path, tmp_path):
    at = page()
    at.run()
    start(at, rn_sigmas="0.25, -1")
    assert "σ must be positive numbers" in " ".join(e.value for e in at.error)
    at.text_input(key="rn_sigmas").set_value("0.25")
    at.selectbox(key="rn_data").set_value("MNIST")
    at.text_input(key="rn_root").set_value(str(tmp_path / "nowhere"))
    at.get("form_submit_button")[0].click()
    at.run()
    assert not at.exception and "was not found in the folder" in " ".join(e.value for e in at.error)
    at.selectbox(key="rn_data").set_value("Uploaded .npz")
    at.get("form_submit_button")[0].click()
    at.run()
    assert "Upload an .npz" in " ".join(e.value for e in at.error)
    at.file_uploader(key="rn_npz").upload("bad.npz", b"just some text, renamed\n")   # QA: a text file as .npz
    at.get("form_submit_button")[0].click()
    at.run()
    errors = " ".join(e.value for e in at.error)
    assert not at.exception and "not a NumPy .npz archive (expected arrays x and y" in errors
    assert "allow_pickle" not in errors and "pickled" not in errors
    assert RunStore(store_path).list_runs() == []
    assert not list((store_path.parent / "data").glob("*.npz"))      # refused before anything was saved


def test_imported_tsv_shows_in_compare(store_path):
    from cert_core.runs.export import import_tsv
    import_tsv(RunStore(store_path), TSV, "paper", sigma=0.5)
    at = page()
    at.run()
    assert not at.exception
    choice = at.selectbox(key="rn_selected")     # a run of the shared store is listed, not opened (issue 17, 9)
    assert choice.value is None and "from TSV" in choice.options[0] and not at.metric
    assert "No run chosen. The store holds 1 run(s)" in texts(at)
    assert at.dataframe[0].value["examples"].iloc[0] == "2/2"        # the compare tab shows the newest
    choice.set_value(RunStore(store_path).list_runs()[0].id).run()
    assert {m.label: m.value for m in at.metric}["Examples done"] == "2/2"
    at.text_input(key="cmp_radii").set_value("0, x").run()
    assert "Radii must be numbers" in " ".join(e.value for e in at.error)


def wait_done(store, count, timeout=120):
    end = time.time() + timeout
    while time.time() < end and [r.status for r in store.list_runs()] != ["done"] * count:
        time.sleep(0.3)
    assert [r.status for r in store.list_runs()] == ["done"] * count


def test_ddrs_method_beside_fixed_sigma(store_path):
    at = page()
    at.run()
    start(at, rn_method="ddrs", rn_sigmas="0.25", rn_max=10, rn_n0=10, rn_n=200, rn_batch=400, rn_device="cpu",
          rn_steps=4, rn_lr=0.1, rn_n_opt=16)
    assert not at.exception and not at.error, [e.value for e in at.error]
    store = RunStore(store_path)
    runs = sorted(store.list_runs(), key=lambda r: r.id)
    assert [r.spec.method for r in runs] == ["cohen", "ddrs"] and len({r.group for r in runs}) == 1
    assert (runs[1].spec.steps, runs[1].spec.n_opt, runs[1].spec.memory, runs[1].spec.sigma) == (4, 16, True, 0.25)
    wait_done(store, 2)
    at.run()
    assert not at.exception and at.selectbox(key="rn_selected").value == runs[1].id
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Examples done"] == "10/10" and 0.01 <= float(metrics["Median σ*ₓ"]) and "Memory changes" in metrics
    assert "Súkeník" in texts(at)
    table = at.dataframe[0].value
    assert sorted(table["method"]) == ["Cohen (fixed σ)", "DDRS (σ*ₓ)"] and "ACR" in table.columns
    at.selectbox(key="cmp_ex_run").set_value(runs[1].id).run()
    assert {"σ*ₓ", "radius before memory", "memory changed"} <= set(at.dataframe[1].value.columns)


def test_bernstein_method(store_path):
    at = page()
    at.run()
    start(at, rn_method="bernstein", rn_sigmas="", rn_max=3)
    assert "This model has no bottleneck" in " ".join(e.value for e in at.error)   # the default moons model
    assert RunStore(store_path).list_runs() == []
    at.session_state["model_key"] = "zoo:digits-bottleneck-d3-s0"
    at.run()
    start(at, rn_degree=4, rn_root_finding=False, rn_max=3)
    assert not at.exception and not at.error, [e.value for e in at.error]
    store = RunStore(store_path)
    wait_done(store, 1)
    (run,) = store.list_runs()
    assert (run.spec.method, run.spec.degree, run.spec.root_finding, run.spec.sigma) == ("bernstein", 4, False, 0.0)
    at.run()
    assert not at.exception and "L_G" in texts(at) and "sound Lipschitz radius" in texts(at)
    assert at.dataframe[0].value["method"].tolist() == ["Bernstein (sound)"]


def test_sequential_method_is_offered_by_the_registry_and_shows_its_saving(store_path):
    at = page()
    at.run()
    start(at, rn_method="sequential", rn_sigmas="0.25", rn_radii="0.5", rn_max=6, rn_n0=20, rn_n=2000,
          rn_batch=400, rn_device="cpu")
    assert not at.exception and not at.error, [e.value for e in at.error]
    store = RunStore(store_path)
    (run,) = store.list_runs()
    assert (run.spec.method, run.spec.radii) == ("sequential", "0.5")
    wait_done(store, 1)
    at.run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Examples done"] == "6/6" and float(metrics["Saving vs fixed n"].rstrip("×")) >= 1


def test_a_sound_float_run_says_which_sampler_ran(store_path):
    """Issue 16: a tiny run with the sound floating-point sampler certifies and records that it did; the Cohen form
    offers the sampler, and the run's live view names it."""
    from cert_core.runs.cli import main
    assert main(["certify", "--model", "digits-cnn-s0.5", "--sigma", "0.5", "--n0", "10", "--n", "50", "--max", "2",
                 "--device", "cpu", "--sound-float", "--levels", "256"]) == 0      # the store: CERT_EXPLORER_RUNS
    store = RunStore(store_path)
    (run,) = store.list_runs()
    assert run.status == "done" and (run.spec.sound_float, run.spec.levels) == (True, 256)
    assert len(store.examples(run.id)) == 2 and (store.examples(run.id).radius >= 0).all()
    at = page()
    at.run()
    assert not at.exception and at.checkbox(key="rn_sound_float").value is False
    at.selectbox(key="rn_selected").set_value(run.id).run()          # a first visit opens no run (issue 17, 9)
    assert "Sampler: sound floating point" in " ".join(c.value for c in at.caption)
