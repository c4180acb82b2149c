"""The app's shared state: the current model, sigma and the selected point, mirrored in the URL (``ui.links``).

Session state is the source of truth while a session lives; the URL query parameters
(``model``, ``sigma``, ``x``, ``y``) seed it once per session and are rewritten on every run, so a
copied link reproduces the view. Models trained or uploaded in the app live in the session only, except a
model trained on drawn points: its link carries the points and settings (``draw``, ``draw_sigma``, ...,
see ``cert_core.models.drawn``) and opening it retrains the same model.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import streamlit as st

from cert_core.models.data import BOX_2D
from cert_core.models.dataset import Dataset, DataError
from cert_core.models.bundles import LoadedModel, ModelLoadError
from cert_core.models.zoo import ZOO

DEFAULT_MODEL = "moons-mlp-s0.25"
DEFAULT_SIGMA = 0.25
SIGMA_MIN, SIGMA_MAX, SIGMA_STEP = 0.02, 1.5, 0.01
VIEW = BOX_2D
ZOO_NAMES = tuple(e.name for e in ZOO)


@dataclass(frozen=True, eq=False)
class CurrentModel:
    key: str                       # cache key: "zoo:<name>" or "user:<id>"
    label: str                     # what the user sees (zoo name or their label)
    loaded: LoadedModel
    dataset: Dataset | None        # the data it was trained on, when known
    dataset_note: str = ""         # why there is no dataset, if there is none

    @property
    def model(self):
        return self.loaded.model

    @property
    def is_2d(self) -> bool:
        return self.loaded.input_shape == (2,)

    @property
    def num_classes(self) -> int:
        return int(self.loaded.num_classes or (self.dataset.num_classes if self.dataset else 2))

    @property
    def class_names(self) -> tuple[str, ...]:
        names = self.loaded.metadata.get("class_names") or (self.dataset.class_names if self.dataset else None)
        return tuple(names) if names else tuple(f"class {k}" for k in range(self.num_classes))

    @property
    def dataset_key(self) -> str:
        return json.dumps(self.dataset.spec, sort_keys=True, default=str) if self.dataset else ""


def user_models() -> dict:
    """This session's trained and uploaded models: key "user:<id>" -> {"label", "loaded", "dataset"}."""
    return st.session_state.setdefault("user_models", {})


def model_keys() -> list[str]:
    return [f"zoo:{n}" for n in ZOO_NAMES] + list(user_models())


def model_label(key: str) -> str:
    if key.startswith("zoo:"):
        return key[4:]
    entry = user_models().get(key)
    return entry["label"] if entry else key


def add_user_model(label: str, loaded: LoadedModel, dataset: Dataset | None) -> str:
    """Keep a trained or uploaded model in the session; it becomes current on the next run
    (the sidebar's selectbox is already drawn, so the caller should ``st.rerun()``)."""
    taken = {v["label"] for v in user_models().values()} | set(ZOO_NAMES)
    base, i = label, 2
    while label in taken:
        label, i = f"{base} ({i})", i + 1
    key = f"user:{uuid.uuid4().hex[:10]}"
    user_models()[key] = {"label": label, "loaded": loaded, "dataset": dataset}
    st.session_state["_pending_model"] = key
    return key


def set_point(x: float, y: float) -> None:
    """Select a point (used by map clicks and links); rounds to the typed precision."""
    x = min(max(float(x), VIEW[0]), VIEW[1])
    y = min(max(float(y), VIEW[2]), VIEW[3])
    st.session_state["point"] = (round(x, 3), round(y, 3))
    st.session_state["px"], st.session_state["py"] = round(x, 3), round(y, 3)


def selected_point() -> tuple[float, float] | None:
    return st.session_state.get("point")


def sigma() -> float:
    return float(st.session_state.get("sigma", DEFAULT_SIGMA))


def current_model_or_stop() -> CurrentModel:
    """The selected model, or a clear st.error and st.stop() when it cannot be loaded (pages call this)."""
    try:
        return current_model()
    except (ModelLoadError, FileNotFoundError, ValueError) as exc:
        st.error(f"The current model cannot be loaded: {exc}")
        st.stop()


def needs_2d(current: CurrentModel, what: str, rest: str = "") -> None:
    """The one message, in one look on every page, for a part that draws the plane and a model that is not 2D:
    what needs the 2D model, how to get one, and ``rest`` (what still works). Calm: nothing is broken."""
    shape = "×".join(str(s) for s in (current.loaded.input_shape or ("?",)))
    st.info(f"**{current.label}** takes inputs of shape {shape}, not 2D points; {what} needs a 2D model "
            f"(pick one in the sidebar, e.g. {DEFAULT_MODEL}). {rest}".rstrip(), icon=":material/grid_on:")


def current_model() -> CurrentModel:
    """The selected model; raises ModelLoadError/FileNotFoundError/ValueError with a clear message."""
    key = st.session_state.get("model_key", f"zoo:{DEFAULT_MODEL}")
    if key.startswith("zoo:"):
        return zoo_current_model(key[4:])
    entry = user_models().get(key)
    if entry is None:
        raise ModelLoadError(f"the model {key!r} is no longer in this session; pick another one")
    note = "" if entry["dataset"] is not None else "no dataset is attached to this model"
    return CurrentModel(key, entry["label"], entry["loaded"], entry["dataset"], note)


def zoo_current_model(name: str) -> CurrentModel:
    """The zoo model ``name`` with its dataset, as the sidebar would make it current (no session state needed)."""
    from ui import cache
    loaded = cache.zoo_model(name)
    return CurrentModel(f"zoo:{name}", name, loaded, *_zoo_dataset(loaded))


def _zoo_dataset(loaded: LoadedModel) -> tuple[Dataset | None, str]:
    from ui import cache
    spec = loaded.metadata.get("dataset")
    if not spec:
        return None, "the model's metadata names no dataset"
    try:
        return cache.dataset_from_spec(json.dumps(spec, sort_keys=True)), ""
    except (DataError, ValueError, OSError) as exc:
        return None, f"its dataset could not be loaded: {exc}"
