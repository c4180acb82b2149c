"""The runs page's start form: the method (its own fields come from its ``RunMethod.fields``), the data, the
CERTIFY budget; Start creates the runs (``launch.start``) and a background worker."""
from __future__ import annotations

import json
from dataclasses import fields

import streamlit as st

from cert_core.models.bundles import ModelLoadError
from cert_core.models.data import default_data_root
from cert_core.runs.engine import RUN_METHODS, run_method
from cert_core.runs.store import RunSpec, RunStore
from ui import cache, state
from ui.runs import launch as run_launch

ss = st.session_state
METHOD_HELP = " ".join(m.summary for m in RUN_METHODS.values())
SPEC_DEFAULTS = {f.name: f.default for f in fields(RunSpec)}


def _data_choice(store: RunStore, current):
    """(data spec, label, number of test examples) for the form's choice; raises ValueError."""
    choice = ss.get("rn_data", run_launch.OWN)
    if choice == run_launch.OWN:
        spec, count = run_launch.own_source(current, store)
        return spec, f"{current.dataset.name} test", count
    if choice == run_launch.NPZ:
        upload = ss.get("rn_npz")
        if upload is None:
            raise ValueError("Upload an .npz with arrays x (N, ...) and y (N,) first.")
        spec, count = run_launch.upload_source(upload.getvalue(), current, store)
        return spec, upload.name, count
    name = run_launch.TORCHVISION[choice]
    spec = {"name": name, "root": ss.get("rn_root") or str(default_data_root())}
    ds = cache.dataset_from_spec(json.dumps(spec, sort_keys=True))
    if current.loaded.input_shape is not None and tuple(current.loaded.input_shape) != tuple(ds.input_shape):
        raise ValueError(f"The model {current.label} takes inputs of shape {tuple(current.loaded.input_shape)}, "
                         f"but {choice} images are {ds.input_shape}. Pick a model trained on {choice}.")
    return spec, f"{choice} test", len(ds.y_test)


def _model_choice(store: RunStore, current):
    """(the model the runs certify, its spec or None for the sidebar's): the sidebar's model, or an uploaded
    Cohen et al. checkpoint / torchvision state dict, loaded and saved as the CLI would (``checkpoint_source``)."""
    choice = ss.get("rn_model", run_launch.SIDEBAR)
    if choice == run_launch.SIDEBAR:
        return current, None
    upload = ss.get("rn_ckpt")
    if upload is None:
        raise ValueError(f"Upload the {'checkpoint.pth.tar' if choice == run_launch.COHEN else 'weights file'} "
                         "first (Checkpoint / weights).")
    mean, std = (ss.get(k, "").strip() for k in ("rn_mean", "rn_std"))
    arch = None if choice == run_launch.COHEN else ss.get("rn_arch", "").strip()
    try:
        spec, loaded = run_launch.checkpoint_source(upload.getvalue(), store, arch, int(ss["rn_classes"]),
                                                    int(ss["rn_image_size"]), mean.split(",") if mean else None,
                                                    std.split(",") if std else None)
    except ModelLoadError as exc:
        raise ValueError(f"{upload.name} cannot be used as {choice}: {exc}") from None
    note = "an uploaded checkpoint: choose CIFAR-10 or an .npz as data"
    return state.CurrentModel(f"upload:{spec['sha256'][:16]}", upload.name, loaded, None, note), spec


def _model_fields(current) -> None:
    """The model choice (inside the start form): the sidebar's model, or a researcher's checkpoint."""
    a, b, c = st.columns(3)
    a.selectbox("Model", run_launch.MODEL_CHOICES, key="rn_model",
                format_func=lambda m: f"{m}: {current.label}" if m == run_launch.SIDEBAR else m,
                help="The sidebar's model, a checkpoint.pth.tar of Cohen et al. (arch cifar_resnet20/110 or "
                     "resnet50, with their normalisation inside), or a torchvision classification architecture with "
                     "your state dict. Files are read with torch.load(weights_only=True): no code in them runs.")
    a.file_uploader("Checkpoint / weights", type=["tar", "pth", "pt"], key="rn_ckpt", max_upload_size=256,
                    help="For the two upload choices (up to 256 MB): the checkpoint, or the state dict saved with "
                         "torch.save (bare or under 'state_dict'; 'module.' prefixes are removed).")
    b.text_input("torchvision architecture", "resnet18", key="rn_arch",
                 help="A torchvision classification model name: resnet18, resnet50, vgg16, vit_b_16, ...")
    b.number_input("Classes", 1, 100_000, 1000, key="rn_classes", help="The architecture's number of classes.")
    b.number_input("Input size", 8, 1024, 224, key="rn_image_size",
                   help="Its input: 3 × size × size pixels in [0, 1].")
    c.text_input("Mean (optional)", "", key="rn_mean", placeholder="0.485,0.456,0.406",
                 help="Per-channel mean of a normalisation layer put inside the model (noise is added to pixels).")
    c.text_input("Std (optional)", "", key="rn_std", placeholder="0.229,0.224,0.225",
                 help="Per-channel std, with Mean.")


def _method_fields(method: str) -> None:
    """The chosen method's own parameters (inside the start form), drawn from its FormFields."""
    m = run_method(method)
    if m.fields:
        for column, f in zip(st.columns(len(m.fields)), m.fields):
            default, key = SPEC_DEFAULTS[f.name], f"rn_{f.name}"
            if f.choices:
                column.selectbox(f.label, f.choices, index=f.choices.index(default), key=key, help=f.help)
            elif isinstance(default, str):
                column.text_input(f.label, default, key=key, help=f.help)
            elif isinstance(default, bool):
                column.checkbox(f.label, default, key=key, help=f.help)
            elif isinstance(default, int):
                column.number_input(f.label, int(f.low), int(f.high), default, key=key, help=f.help)
            else:
                column.number_input(f.label, float(f.low), float(f.high), default, f.step, key=key, help=f.help)
    if m.companion:
        st.checkbox(m.companion.label, m.companion.default, key="rn_with_cohen", help=m.companion.help)


def _params(method: str) -> run_launch.Params:
    m = run_method(method)
    extra = tuple((f.name, type(SPEC_DEFAULTS[f.name])(ss[f"rn_{f.name}"])) for f in m.fields)
    with_cohen = bool(ss.get("rn_with_cohen")) and m.companion is not None
    sigmas = run_launch.parse_sigmas(ss["rn_sigmas"], allow_empty=not m.noisy and not with_cohen)
    return run_launch.Params(sigmas, int(ss["rn_n0"]), int(ss["rn_n"]), float(ss["rn_alpha"]), int(ss["rn_batch"]),
                             int(ss["rn_max"]), int(ss["rn_skip"]), ss["rn_device"], method=method,
                             method_params=extra, with_cohen=with_cohen)


def start_form(store: RunStore, current) -> None:
    """The method choice and the start form; on Start, the runs are created and a worker launched."""
    method = st.radio("Method", tuple(run_launch.METHOD_LABELS), key="rn_method", horizontal=True,
                      format_func=run_launch.METHOD_LABELS.get, help=METHOD_HELP)
    with st.form("run_form", border=True):
        _model_fields(current)
        a, b, c = st.columns(3)
        a.selectbox("Data", run_launch.DATA_CHOICES, key="rn_data",
                    help="The model's own test split (2D toy set, digits, ...), MNIST / Fashion-MNIST / CIFAR-10 "
                         "from a local folder (never downloaded), or your own .npz of images x and labels y.")
        a.text_input("Folder with MNIST / Fashion-MNIST / CIFAR-10", key="rn_root", value=str(default_data_root()),
                     help="Used for the torchvision datasets only; the files must already be there.")
        a.file_uploader(".npz upload", type=["npz"], key="rn_npz", max_upload_size=50,
                        help="Arrays x (N, ...) and y (N,) (or images/labels); uint8 images are scaled to [0, 1].")
        label, tip = run_method(method).sigma_field
        b.text_input(label, key="rn_sigmas", value=f"{state.sigma():g}", help=tip)
        b.number_input("Examples (at most)", 1, 1_000_000, 100, key="rn_max", help="How many test examples to certify.")
        b.number_input("Every k-th example", 1, 10_000, 1, key="rn_skip", help="Take every k-th test example (Cohen et al. used 20 on ImageNet).")
        b.radio("Device", ("auto", "cpu", "cuda"), key="rn_device", horizontal=True,
                help="auto: the GPU when there is one. Runs on one GPU queue for it; a batch that does not fit is "
                     "halved. Bernstein runs on the CPU (numpy).")
        c.number_input("n0 (selection)", 1, 100_000, 100, key="rn_n0", help="Samples that pick the top class c_A.")
        c.number_input("n (estimation)", 1, 10_000_000, 10_000, key="rn_n",
                       help="Fresh samples that bound p_A from below; the paper uses 100 000.")
        c.number_input("α", 1e-6, 0.5, 0.001, format="%.4f", key="rn_alpha",
                       help="Each certificate is wrong with probability at most α.")
        c.number_input("Batch", 1, 1_000_000, 1000, key="rn_batch", help="Noisy samples per forward pass.")
        _method_fields(method)
        submitted = st.form_submit_button("Start", type="primary", icon=":material/play_arrow:",
                                          help="Create the run(s) and start the background worker.")
    if submitted:
        try:
            current, model = _model_choice(store, current)
            spec, label, count = _data_choice(store, current)
            ids = run_launch.start(store, current, spec, label, count, _params(method), model)
        except (ValueError, OSError) as exc:
            st.error(str(exc), icon=":material/error:")
            return
        ss["rn_selected"] = next((i for i in ids if store.get(i).spec.method == method), ids[0])
        st.toast(f"Started {len(ids)} run(s): #{', #'.join(map(str, ids))}", icon=":material/play_arrow:")
