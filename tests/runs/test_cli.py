"""The headless CLI: Cohen et al.'s TSV, the summary, and argparse-style errors."""
import pytest

from cert_core.runs.cli import main


def test_certify_writes_cohen_tsv_and_summary(tmp_path, capsys):
    out = tmp_path / "r.tsv"
    code = main(["certify", "--model", "moons-mlp-s0.25", "--sigma", "0.25", "--n0", "20", "--n", "500",
                 "--alpha", "0.01", "--batch", "400", "--max", "12", "--skip", "2", "--device", "cpu", "--out", str(out)])
    assert code == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "idx\tlabel\tpredict\tradius\tcorrect\ttime"
    rows = [line.split("\t") for line in lines[1:]]
    assert len(rows) == 12 and [int(r[0]) for r in rows] == list(range(0, 24, 2))
    for idx, label, pred, radius, correct, seconds in rows:
        assert int(correct) == int(pred == label)
        assert float(radius) >= 0 and float(seconds) >= 0
        assert (int(pred) == -1) <= (float(radius) == 0)
    text = capsys.readouterr().out
    assert "cert acc" in text and "ACR" in text


def test_same_seed_gives_same_tsv(tmp_path):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.tsv"
        main(["certify", "--model", "moons-mlp-s0.25", "--sigma", "0.5", "--n0", "10", "--n", "200",
              "--max", "5", "--seed", "3", "--out", str(out)])
        outs.append([line.split("\t")[:5] for line in out.read_text().splitlines()])
    assert outs[0] == outs[1]


def test_predict_runs(tmp_path, capsys):
    out = tmp_path / "p.tsv"
    assert main(["predict", "--model", "blobs-mlp-s0.25", "--sigma", "0.25", "--n", "100", "--max", "5",
                 "--out", str(out)]) == 0
    assert out.read_text().splitlines()[0] == "idx\tlabel\tpredict\tcorrect\ttime"
    assert "smoothed accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["certify", "--model", "nope", "--sigma", "0.25"], "neither a file nor a zoo entry"),
    (["certify", "--model", "moons-mlp-s0.25", "--sigma", "0"], r"argument --sigma: must be a float in \(0, inf\)"),
    (["certify", "--model", "moons-mlp-s0.25", "--sigma", "0.2", "--alpha", "2"], "argument --alpha"),
    (["certify", "--model", "moons-mlp-s0.25", "--sigma", "0.2", "--n", "-5"], "argument --n: must be an int >= 1"),
    (["certify", "--model", "moons-mlp-s0.25", "--sigma", "0.2", "--device", "tpu"], "--device must be"),
    (["certify", "--model", "moons-mlp-s0.25", "--sigma", "0.2", "--dataset", "digits"], r"takes inputs of shape \(2,\)"),
    (["certify", "--model", "moons-mlp-s0.25", "--sigma", "0.2", "--dataset", "mnist", "--data-dir", "/nonexistent"], "/nonexistent"),
])
def test_bad_arguments_get_argparse_messages(argv, message, capsys):
    import re
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and re.search(message, err), err
    assert "Traceback" not in err


def test_bad_model_file_is_reported(tmp_path, capsys):
    bad = tmp_path / "model.pt"
    bad.write_text("this is not a model")
    with pytest.raises(SystemExit):
        main(["certify", "--model", str(bad), "--sigma", "0.25"])
    assert "error:" in capsys.readouterr().err


def test_streamed_tsv_lines_round_radii_down():
    from cert_core.runs.export import cohen_tsv_line as _tsv_line
    row = dict(idx=3, label=1, prediction=1, radius=0.12345, correct=True, seconds=0.5)
    assert _tsv_line(row) == "3\t1\t1\t0.1234\t1\t0.5000"   # to nearest it was 0.1235, above the certificate


def test_predict_abstain_rate_counts_abstentions_not_wrong_answers(tmp_path, capsys):
    out = tmp_path / "p.tsv"      # the circles model on moons: many confident wrong answers, few abstentions
    assert main(["predict", "--model", "circles-mlp-s0.25", "--dataset", "moons", "--sigma", "0.1", "--n", "200",
                 "--max", "40", "--out", str(out)]) == 0
    rows = [line.split("\t") for line in out.read_text().splitlines()[1:]]
    abstained = sum(r[2] == "-1" for r in rows)
    wrong = sum(r[2] != "-1" and r[3] == "0" for r in rows)
    assert wrong > 0                                   # so "1 - accuracy" would be another number
    summary = capsys.readouterr().out
    assert f"abstain rate {abstained / len(rows):.4f}" in summary


def test_torchscript_is_refused_without_trust_and_none_of_its_code_runs(tmp_path, capsys, monkeypatch):
    import hostile_kit
    target = tmp_path / "runs.sqlite"
    target.write_bytes(b"the run store")
    for i, module in enumerate((hostile_kit.SetstateWriter(str(target)), hostile_kit.ForwardWriter(str(target)))):
        path = tmp_path / f"model{i}.pt"
        path.write_bytes(hostile_kit.archive(module))
        with pytest.raises(SystemExit) as exit_info:
            main(["predict", "--model", str(path), "--dataset", "moons", "--sigma", "0.25", "--n", "10"])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and "TorchScript is code" in err and "--trust-torchscript" in err
    assert target.read_bytes() == b"the run store"


def test_trusted_torchscript_certifies_in_its_own_process_and_a_resume_trusts_it(tmp_path, capsys):
    import json
    import sqlite3
    import torch
    from cert_core.models.zoo import load_zoo_model
    path = tmp_path / "moons.pt"
    torch.jit.trace(load_zoo_model("moons-mlp-s0.25").model, torch.zeros(1, 2)).save(str(path))
    store = tmp_path / "r.sqlite"
    assert main(["certify", "--model", str(path), "--trust-torchscript", "--dataset", "moons", "--sigma", "0.25",
                 "--n0", "10", "--n", "50", "--max", "3", "--store", str(store)]) == 0
    assert "cert acc" in capsys.readouterr().out
    (spec,) = [json.loads(row[0]) for row in sqlite3.connect(store).execute("SELECT spec FROM runs")]
    assert spec["model"] == {"path": str(path.resolve()), "trust_torchscript": True}


def test_sequential_certify_writes_samples_per_example_and_records_the_run(tmp_path, capsys):
    """--sequential goes through the run method "sequential": TSV with a samples column, the run in the store."""
    from cert_core.runs.store import RunStore
    out, store = tmp_path / "s.tsv", tmp_path / "runs.sqlite"
    assert main(["certify", "--model", "moons-mlp-s0.25", "--sigma", "0.25", "--n0", "20", "--sequential",
                 "--radius", "0.5", "--max-n", "2000", "--max", "6", "--batch", "500", "--device", "cpu",
                 "--store", str(store), "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].split("\t") == ["idx", "label", "predict", "radius", "correct", "time", "samples"]
    samples = [int(line.split("\t")[6]) for line in lines[1:]]
    assert len(samples) == 6 and all(20 < s <= 20 + 2000 for s in samples)
    (run,) = RunStore(store).list_runs()
    assert (run.spec.method, run.spec.radii, run.spec.n) == ("sequential", "0.5", 2000)
    assert "fewer samples" in capsys.readouterr().out


def test_sequential_flags_need_sequential_and_one_process(capsys, monkeypatch):
    base = ["certify", "--model", "moons-mlp-s0.25", "--sigma", "0.25", "--no-store"]
    for argv, message in ((base + ["--radius-grid", "--max-n", "10"], "--radius-grid and --max-n: only with --sequential"),
                          (base + ["--sequential", "--radius", "1", "--radius-grid"], "not allowed with argument"),
                          (base + ["--sequential", "--radius-grid", "0,x"], "must be radii >= 0 in units of σ")):
        with pytest.raises(SystemExit):
            main(argv)
        assert message in capsys.readouterr().err
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(SystemExit):
        main(base + ["--sequential"])
    assert "one process" in capsys.readouterr().err
def _certificates(path):
    return [line.split("\t")[:5] for line in path.read_text().splitlines()]


def test_npz_certifies_like_its_dataset_and_the_same_command_resumes_an_interrupted_run(tmp_path, capsys):
    import sqlite3

    import numpy as np
    from cert_core.models.data import load_digits
    from cert_core.runs.store import RunStore
    ds = load_digits()
    np.savez(tmp_path / "d.npz", x=ds.x_test[:5], y=ds.y_test[:5])
    common = ["certify", "--model", "digits-cnn-s0.25", "--sigma", "0.25", "--n0", "20", "--n", "200", "--batch", "200",
              "--max", "5", "--device", "cpu", "--store", str(tmp_path / "s.sqlite")]
    assert main([*common, "--out", str(tmp_path / "a.tsv")]) == 0
    npz = [*common, "--npz", str(tmp_path / "d.npz")]
    assert main([*npz, "--out", str(tmp_path / "b.tsv")]) == 0
    assert _certificates(tmp_path / "a.tsv") == _certificates(tmp_path / "b.tsv")     # noise keyed by (seed, idx)
    store = RunStore(tmp_path / "s.sqlite")
    run = store.list_runs()[0]
    assert run.spec.data["name"] == "npz" and run.done == 5
    with sqlite3.connect(store.path) as con:                  # killed after 2 examples
        con.execute("DELETE FROM examples WHERE run_id = ? AND idx >= 2", (run.id,))
        con.execute("UPDATE runs SET status = 'interrupted' WHERE id = ?", (run.id,))
    capsys.readouterr()
    assert main([*npz, "--out", str(tmp_path / "c.tsv")]) == 0
    assert f"resuming run {run.id} (interrupted): 2 of 5" in capsys.readouterr().out
    assert _certificates(tmp_path / "c.tsv") == _certificates(tmp_path / "b.tsv")
    assert len(store.list_runs()) == 2 and store.get(run.id).status == "done" and store.get(run.id).done == 5


@pytest.fixture
def one_thread():
    """One intra-op thread: a small ResNet on a busy 2-core machine runs ~15x slower with two contending."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_image_folder_certifies_a_cohen_checkpoint_and_a_worker_reloads_it(tmp_path, capsys, one_thread):
    import numpy as np
    import torch
    from PIL import Image
    from cert_core.models.checkpoints import CifarResNet
    from cert_core.runs.inputs import run_data
    from cert_core.runs.store import RunStore
    rng = np.random.default_rng(0)
    for label in ("0", "3"):                          # integer folder names are the labels of a 10-class head
        (tmp_path / "images" / label).mkdir(parents=True)
        for i in range(2):
            pixels = rng.integers(0, 256, (40 + 9 * i, 36, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "images" / label / f"{i}.png")
    torch.manual_seed(0)
    torch.save({"arch": "cifar_resnet20", "state_dict": {f"1.{k}": v for k, v in CifarResNet(20).state_dict().items()}},
               tmp_path / "checkpoint.pth.tar")
    argv = ["certify", "--model", str(tmp_path / "checkpoint.pth.tar"), "--image-folder", str(tmp_path / "images"),
            "--image-size", "32", "--sigma", "0.25", "--n0", "5", "--n", "20", "--batch", "40", "--device", "cpu",
            "--store", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "r.tsv")]
    assert main(argv) == 0
    assert [row[1] for row in _certificates(tmp_path / "r.tsv")[1:]] == ["0", "0", "3", "3"]
    (run,) = RunStore(tmp_path / "s.sqlite").list_runs()
    data = run_data(run.spec)                          # what a resuming worker loads: the same cropped pixels
    assert data.x.shape == (4, 3, 32, 32) and data.num_classes == 10 and list(data.y) == [0, 0, 3, 3]
    with pytest.raises(SystemExit):
        main(["certify", "--model", "digits-cnn-s0.25", "--image-folder", str(tmp_path / "missing"), *argv[5:]])
    err = capsys.readouterr().err
    assert str(tmp_path / "missing") in err and "ImageFolder layout" in err and "Traceback" not in err
