"""Glue of the "Draw your data" page: the drawing's history in the session, the canvas clicks, the toolbar,
training with progress, and CSV import/export. The drawing itself is ``cert_core.models.drawn.Drawing``."""
from __future__ import annotations

import numpy as np
import streamlit as st

from cert_core.models import drawn
from cert_core.models.data import TOY_DATASETS, make_toy
from cert_core.models.dataset import DataError
from ui import presenter, state, theme

ss = st.session_state
HISTORY, EDITS, MESSAGE = "draw_history", "draw_edits", "draw_message"
ERASE_RADIUS = 0.3          # view units: an erase click removes the nearest point this close
START_POINTS = 150          # points taken from a built-in dataset (a link carries up to MAX_LINK_POINTS)
MODES = ("add", "erase")
MODE_LABELS = {"add": "✚ add", "erase": "✖ erase"}


def drawing() -> drawn.Drawing:
    return ss[HISTORY][-1]


def start(current: state.CurrentModel) -> None:
    """Once per session: start from the current model's drawing (e.g. a link just opened) or a blank canvas,
    with the training settings it was made with."""
    if HISTORY in ss:
        return
    spec = current.dataset.spec if current.dataset is not None else {}
    ss[HISTORY], ss[EDITS] = [drawn.Drawing()], 0
    settings = drawn.DrawnTraining()
    if spec.get("name") == "drawn":
        ss[HISTORY] = [drawn.decode_points(spec["points"])]
        train = current.loaded.metadata.get("train", {})
        settings = drawn.DrawnTraining(train["sigma_train"], train["epochs"], train["seed"])
    ss["draw_sigma"], ss["draw_epochs"], ss["draw_seed"] = settings.sigma_train, settings.epochs, settings.seed


def push(new: drawn.Drawing) -> None:
    """A new state of the drawing (undo goes back one); a new canvas key, so a click on the same spot counts."""
    if new != drawing():
        ss[HISTORY].append(new)
        ss[EDITS] += 1


def canvas_key() -> str:
    return f"draw_canvas_{ss[EDITS]}"


def on_click(key: str) -> None:
    """on_select of the canvas: add a point of the chosen class where it was clicked, or erase the nearest."""
    hits = ((ss.get(key) or {}).get("selection") or {}).get("points") or []
    if not hits:
        return
    x, y = float(hits[0]["x"]), float(hits[0]["y"])
    try:
        if ss.get("draw_mode") == "erase":
            push(drawing().erase_near(x, y, ERASE_RADIUS))
        else:
            push(drawing().add(x, y, int(ss.get("draw_class") or 0)))
    except drawn.DrawingError as exc:
        ss[MESSAGE] = f"Not added: {exc}."


def undo() -> None:
    if len(ss[HISTORY]) > 1:
        ss[HISTORY].pop()
        ss[EDITS] += 1


def start_from(name: str) -> None:
    """Replace the drawing by ``START_POINTS`` points of a built-in dataset (undo brings the old one back)."""
    data = make_toy(name, START_POINTS, 0.1, 0)
    x, y = np.concatenate([data.x_train, data.x_test]), np.concatenate([data.y_train, data.y_test])
    push(drawn.from_points(x, y))


def import_csv(file) -> None:
    """A CSV (x1,x2,label, as the Models page reads) becomes the drawing; the note says what changed."""
    try:
        new, note = drawn.from_csv(file.getvalue().decode("utf-8-sig"))
        push(new)
        ss[MESSAGE] = f"Read {len(new.cells)} points from **{file.name}**. {note}"
    except (DataError, UnicodeDecodeError) as exc:
        ss[MESSAGE] = f"**{file.name}** cannot be drawn: {exc}."


def class_css() -> str:
    """The class buttons in the maps' colours (Streamlit gives the segmented control no per-option colour)."""
    rules = [f".st-key-draw_class button:nth-child({k + 1}) p {{ color: {theme.class_color(k)}; font-weight: 700; }}"
             for k in range(drawn.MAX_CLASSES)]
    return "<style>" + "\n".join(rules) + "</style>"


def toolbar() -> None:
    """Class, add/erase, undo, clear and "start from" in one row -- every control a click, no keyboard."""
    st.html(class_css())
    for key, value in (("draw_class", 0), ("draw_mode", "add"), ("draw_start", TOY_DATASETS[0])):
        ss.setdefault(key, value)
    widths = [3.2, 1.9, 1, 1, 1.7, 1]
    if presenter.active():          # larger text: two rows, so no control is squeezed
        cls, mode = st.columns(widths[:2], vertical_alignment="bottom")
        undo_col, clear_col, pick, load = st.columns(widths[2:] + [1.2], vertical_alignment="bottom")[:4]
    else:
        cls, mode, undo_col, clear_col, pick, load = st.columns(widths, vertical_alignment="bottom")
    cls.segmented_control("Class", range(drawn.MAX_CLASSES), key="draw_class", format_func=lambda k: f"● {k}",
                          help="The class of the points you add; colours as on the maps.")
    mode.segmented_control("Click to", MODES, key="draw_mode", format_func=MODE_LABELS.get,
                           help=f"Erase removes the nearest point within {ERASE_RADIUS} of the click.")
    undo_col.button("Undo", icon=":material/undo:", key="draw_undo", on_click=undo, width="stretch",
                    disabled=len(ss[HISTORY]) < 2, help="Go back one change (a click, a clear, a load, an import).")
    clear_col.button("Clear", icon=":material/delete:", key="draw_clear", on_click=push, args=(drawn.Drawing(),),
                     width="stretch", disabled=not drawing().cells, help="Remove every point (Undo brings them back).")
    name = pick.selectbox("Start from", TOY_DATASETS, key="draw_start",
                          help=f"{START_POINTS} points of a built-in dataset, to edit by clicking.",
                          label_visibility="collapsed" if presenter.active() else "visible")   # a lower second row
    load.button("Load", icon=":material/download_for_offline:", key="draw_load", on_click=start_from, args=(name,),
                width="stretch", help="Replace the drawing by this dataset's points (Undo brings yours back).")


def counts_line(d: drawn.Drawing) -> str:
    counts = d.counts()
    parts = [f"class {k}: {counts[k]}" for k in range(drawn.MAX_CLASSES) if counts[k]]
    return (f"**{len(d.cells)} / {drawn.MAX_LINK_POINTS} points**" + (" · " + " · ".join(parts) if parts else ""))


def train(d: drawn.Drawing, training: drawn.DrawnTraining) -> None:
    """Train with a progress bar; the model becomes the current model of every page (then rerun)."""
    bar = st.progress(0.0, text="Training…")
    every = max(1, training.epochs // 30)

    def progress(epoch: int, epochs: int, loss: float) -> None:
        if epoch % every == 0 or epoch == epochs:
            bar.progress(epoch / epochs, text=f"Epoch {epoch}/{epochs} · loss {loss:.4f}")

    loaded, result = drawn.train_drawn(d, training, progress)
    state.add_user_model(loaded.metadata["name"], loaded, drawn.to_dataset(d))
    ss["draw_trained"] = (f"Trained in {result.seconds:.1f} s: accuracy on your {len(d.cells)} points "
                          f"{result.train_accuracy:.0%}. It is now the current model on every page.")
    st.rerun()


def trained_on(current: state.CurrentModel) -> drawn.Drawing | None:
    """The drawing the current model was trained on, if it is a drawn model."""
    spec = current.dataset.spec if current.dataset is not None else {}
    return drawn.decode_points(spec["points"]) if spec.get("name") == "drawn" else None
