"""The runs page's start form: the method (its own fields come from its ``RunMethod.fields``), the data, the
CERTIFY budget; Start creates the runs (``launch.start``) and a background worker."""
from __future__ import annotations

import json
import pathlib
from dataclasses import fields

import streamlit as st

from cert_core.models.data import default_data_root
from cert_core.runs.engine import RUN_METHODS, run_method
from cert_core.runs.store import RunSpec, RunStore
from ui import cache, state
from ui.runs import launch as run_launch
from ui.runs.model_choice import model_choice, model_spec

ss = st.session_state
METHOD_HELP = " ".join(m.summary for m in RUN_METHODS.values())
SPEC_DEFAULTS = {f.name: f.default for f in fields(RunSpec)}


def _data_choice(store: RunStore, current, params):
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
    if choice == run_launch.IMAGES:
        limit = None if params.max_examples is None else params.max_examples * params.skip
        spec = run_launch.image_folder_source(ss.get("rn_images", ""), current.loaded, limit)
        label = f"{pathlib.PurePath(spec['root']).name} images"
    else:
        spec = {"name": run_launch.TORCHVISION[choice], "root": ss.get("rn_root") or str(default_data_root())}
        label = f"{choice} test"
    ds = cache.dataset_from_spec(json.dumps(spec, sort_keys=True))
    if current.loaded.input_shape is not None and tuple(current.loaded.input_shape) != tuple(ds.input_shape):
        raise ValueError(f"The model {current.label} takes inputs of shape {tuple(current.loaded.input_shape)}, "
                         f"but {choice} images are {ds.input_shape}. Pick a model trained on {choice}.")
    if current.num_classes and ds.y_test.max(initial=0) >= current.num_classes:
        raise ValueError(f"The {choice}'s labels reach {ds.y_test.max()}, but the model has {current.num_classes} "
                         "classes (folders named 0, 1, ... are the labels themselves).")
    return spec, label, len(ds.y_test)


def _data_fields(upload: bool) -> None:
    """The data choice (inside the start form): an uploaded checkpoint has no test split of its own."""
    choices = run_launch.UPLOAD_DATA_CHOICES if upload else run_launch.DATA_CHOICES
    if ss.get("rn_data") not in choices:     # set, not dropped: the browser would keep showing the old choice
        ss["rn_data"] = choices[0]
    st.selectbox("Data", choices, key="rn_data",
                 help="CIFAR-10 from a local folder (never downloaded), an ImageNet-style image folder, or your own "
                      ".npz of images x and labels y." if upload else
                      "The model's own test split (2D toy set, digits, ...), MNIST / Fashion-MNIST / CIFAR-10 "
                      "from a local folder (never downloaded), or your own .npz of images x and labels y.")
    st.text_input("Folder with CIFAR-10" if upload else "Folder with MNIST / Fashion-MNIST / CIFAR-10", key="rn_root",
                  value=str(default_data_root()), help="Used for the torchvision datasets only; the files must "
                                                       "already be there.")
    if upload:
        st.text_input("Image folder", key="rn_images", placeholder="/data/imagenet/val",
                      help="torchvision's ImageFolder layout: folder/<class>/<image>; folders named 0, 1, ... are "
                           "the labels themselves. Images are resized and centre-cropped to the model's input.")
    st.file_uploader(".npz upload", type=["npz"], key="rn_npz", max_upload_size=50,
                     help="Arrays x (N, ...) and y (N,) (or images/labels); uint8 images are scaled to [0, 1].")


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
    """The method and model choices and the start form; on Start, the runs are created and a worker launched."""
    method = st.radio("Method", tuple(run_launch.METHOD_LABELS), key="rn_method", horizontal=True,
                      format_func=run_launch.METHOD_LABELS.get, help=METHOD_HELP)
    chosen = model_choice(current)
    with st.form("run_form", border=True):
        a, b, c = st.columns(3)
        with a:
            _data_fields(chosen.upload)
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
            if chosen.current is None:
                raise ValueError(chosen.problem)
            params = _params(method)
            spec, label, count = _data_choice(store, chosen.current, params)
            ids = run_launch.start(store, chosen.current, spec, label, count, params, model_spec(chosen, store))
        except (ValueError, OSError) as exc:
            st.error(str(exc), icon=":material/error:")
            return
        ss["rn_selected"] = next((i for i in ids if store.get(i).spec.method == method), ids[0])
        st.toast(f"Started {len(ids)} run(s): #{', #'.join(map(str, ids))}", icon=":material/play_arrow:")
