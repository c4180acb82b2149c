"""Draw your data: click points of up to 6 classes, train on them in place, see f and g, share the link."""
import streamlit as st

from cert_core.grid_view import GridView
from cert_core.models import drawn
from ui import navigation, presenter, state
from ui.draw import cache as draw_cache
from ui.draw import figures as charts
from ui.draw import views
from ui.glossary import link
from ui.images import base_image, lattice_points, png_uri, smoothed_image

ss = st.session_state
HEIGHT = 470                # px: three square plots side by side (presenter mode: the fonts grow instead)
PRESENTER_HEIGHT = 410      # a 1280×720 projector's column is ~300 px wide: no white space, the x axis on screen
CANVAS = dict(selection_mode="points", theme=None, config={"displaylogo": False, "displayModeBar": False})

st.title(navigation.DRAW.title)
with presenter.folded("About this page"):
    st.caption(f"Click points, train, and compare the {link('base classifier f')} with the "
               f"{link('smoothed classifier g')}. Points stay exactly where you click: the canvas is the view's box "
               "[−3, 3]², nothing is centred or scaled (unlike a CSV upload), so the maps line up with it.")

current = state.current_model_or_stop()
views.start(current)


@st.fragment
def board(current: state.CurrentModel) -> None:
    """Toolbar, canvas | f | g: a click reruns only this fragment, not the whole app."""
    drawing = views.drawing()
    views.toolbar()
    if ss.get(views.MESSAGE):
        st.warning(ss.pop(views.MESSAGE), icon=":material/info:")
    canvas, map_f, map_g = st.columns(3)
    height = PRESENTER_HEIGHT if presenter.active() else HEIGHT
    hint = "erase the nearest point" if ss.get("draw_mode") == "erase" else f"add class {ss.get('draw_class') or 0}"
    key = views.canvas_key()
    # presenter: no legend (its 20 px rows pushed x₁ into the tick labels); the class buttons above carry the colours
    fig = charts.canvas(state.VIEW, lattice_points(GridView(state.VIEW, 2))[0], drawing.points, drawing.labels,
                        hint, height, legend=not presenter.active())
    canvas.plotly_chart(presenter.scale(fig, resize=False), key=key, on_select=lambda: views.on_click(key), **CANVAS)
    trained = views.trained_on(current)
    if trained is None:
        map_f.info("Draw at least two classes (two points each) and press **Train**: the maps of the trained model "
                   "appear here, and it becomes the current model on every page.", icon=":material/draw:")
    else:
        sigma = state.sigma()
        labels, probs = draw_cache.maps(current.key, current.model, sigma)
        for col, title, image, mkey in ((map_f, "Base classifier f", base_image(labels), "draw_map_f"),
                                        (map_g, f"Smoothed g, σ={sigma:g}", smoothed_image(probs), "draw_map_g")):
            fig = charts.region_map(title, png_uri(image), state.VIEW, trained.points, trained.labels, height)
            col.plotly_chart(presenter.scale(fig, resize=False), key=mkey, theme=None, config={"displayModeBar": False})
    counts, export = st.columns([3, 1], vertical_alignment="center")
    counts.markdown(views.counts_line(drawing))
    export.download_button("Export CSV", drawn.to_csv(drawing), file_name="drawn_points.csv", mime="text/csv",
                           icon=":material/download:", key="draw_export", disabled=not drawing.cells, width="stretch",
                           help="Rows x1,x2,label in the view's coordinates: the format the Models page's upload reads.")
    if trained is not None and trained != drawing:
        st.warning("You changed the drawing after training: the maps show the model trained on the points drawn on "
                   "them. Press **Train** to train on the canvas as it is now.", icon=":material/history:")


board(current)
drawing = views.drawing()

# ---------------------------------------------------------------- training
with st.form("draw_train", border=False):
    s_col, e_col, seed_col, go_col = st.columns([2, 1.4, 1, 1.2], vertical_alignment="bottom")
    sigma_train = s_col.slider("σ_train", 0.0, 1.0, step=0.05, key="draw_sigma",
                               help="Std of the Gaussian noise added at every training step (0 = clean training).")
    epochs = e_col.select_slider("Epochs", drawn.EPOCH_CHOICES, key="draw_epochs",
                                 help="Full-batch Adam steps over your points.")
    seed = seed_col.number_input("Seed", 0, 10_000, key="draw_seed", help="Seeds the weights and the noise.")
    go = go_col.form_submit_button("Train", type="primary", icon=":material/play_arrow:", width="stretch",
                                   help=f"An MLP {drawn.ARCHITECTURE['width']}×{drawn.ARCHITECTURE['depth']} trained "
                                        "on CPU, seeded: the same points and settings give the same model.")
if go:
    try:
        views.train(drawing, drawn.DrawnTraining(float(sigma_train), int(epochs), int(seed)))
    except drawn.DrawingError as exc:
        st.error(f"Cannot train yet: {exc}.", icon=":material/error:")
    except ValueError as exc:                   # e.g. a loss that became NaN
        st.error(f"Training failed: {exc}.", icon=":material/error:")
if ss.get("draw_trained"):
    st.success(ss.pop("draw_trained"), icon=":material/check_circle:")
elif views.trained_on(current) is not None:
    st.caption(f"Current model **{current.label}**: g is f blurred exactly with N(0, σ²I), σ from the sidebar. "
               "Open **Decision boundaries** to click a point and see its certified radius.")

# ---------------------------------------------------------------- link, CSV
with st.expander("What a link carries, and CSV import", icon=":material/link:"):
    st.markdown(
        f"**The link in the address bar carries** the current model's points (snapped to a {drawn.GRID_STEP:g} grid, "
        f"at most {drawn.MAX_LINK_POINTS} points, about 3.3 characters each), its σ_train, epochs and seed, and the "
        "view (σ, the selected point, presenter mode). Opening it retrains the same model: the same weights on the "
        "same machine; another machine or torch version may differ in the last digits. **It cannot carry** trained "
        "weights (download a bundle from the Models page for those), the undo history, or points not yet trained on.")
    file = st.file_uploader("Import CSV", type=["csv", "txt"], key="draw_csv", max_upload_size=50,
                           help="Rows x1,x2,label (header optional), up to 6 labels and "
                                f"{drawn.MAX_LINK_POINTS} rows; points outside the view are centred and scaled.")
    if file is not None and ss.get("draw_csv_done") != file.file_id:
        ss["draw_csv_done"] = file.file_id
        views.import_csv(file)
        st.rerun()
