"""Decision boundaries: base vs exactly smoothed regions, the point inspector, checks."""
import streamlit as st

from ui import navigation, presenter, state
from ui.boundaries import cache as bc
from ui.boundaries import sigma_view
from ui.glossary import link
from ui.sequential import views as sequential_views

RESOLUTIONS = (100, 150, 200, 300, 400)
POINT_CHOICES = ("training data", "test data", "test certificates", "none")
ss = st.session_state

st.title(navigation.BOUNDARIES.title)
current = state.current_model_or_stop()
intro = presenter.folded("About this page and the map settings")   # the maps fit a 1280×720 projector
intro.caption(f"Left: the {link('base classifier f')}. Right: the {link('smoothed classifier g')}, computed *exactly* by "
              "blurring f's regions with the Gaussian N(0, σ²I). Click a map to inspect a point and its "
              f"{link('certified radius')}. Dragging σ previews the exact smoothed maps; releasing it updates the "
              "numbers, circles and read-outs.")

if not current.is_2d:
    state.needs_2d(current, "a decision boundary to draw")
    st.page_link(navigation.MODELS.file, label="Browse the 2D models", icon=navigation.MODELS.icon)
    st.stop()

# ---------------------------------------------------------------- controls
c1, c2, c3, c4 = intro.columns([1.1, 1.6, 1.0, 1.0])
overlay = c1.radio("Layout", ("side by side", "overlay"), key="layout", horizontal=True,
                   help="Show f and g next to each other, or g alone with f's boundary dotted on top.") == "overlay"
show = c2.radio("Points on the map", POINT_CHOICES, key="show_points", horizontal=True,
                help="Which points to draw: the data, or the test set marked certified / abstain / wrong.")
ss.setdefault("resolution", bc.DEFAULT_RESOLUTION)
resolution = c3.select_slider("Grid resolution", RESOLUTIONS, key="resolution",
                              help="Pixels per axis of the exact maps; higher is finer and slower to load.")
radius_r = c4.number_input("Radius r for certified accuracy", 0.0, 3.0, 0.25, 0.05, key="radius_r",
                           help="A test point counts as certified when it is correct with radius ≥ r.")
# ---------------------------------------------------------------- maps, metrics, inspector, checks at σ
# one fragment, which a σ step reruns alone (ui/boundaries/sigma_view.py); a click reruns the inspector's inside it
sigma_view.at_sigma(current, overlay, show, resolution, radius_r, sequential_views.path_chart)
