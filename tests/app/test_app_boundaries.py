"""AppTest of the decision-boundaries page: default path, every main control, bad input."""

import base64
import json

import numpy as np
import pytest
from apptest_kit import page_test, page_text
from streamlit.testing.v1 import AppTest
from ui import navigation, sigma_scrub

PAGE = navigation.BOUNDARIES


def _page(query=None, **state) -> AppTest:
    """Run the page with small maps (resolution 100) so every run stays fast."""
    return page_test(PAGE, query, 120, **{"resolution": 100, **state}).run()



def _maps(at: AppTest) -> dict[str, dict]:
    """The ``ui.image_map`` pictures the last run drew, by widget key (map_a_2: f, map_b_2: g, radius_map; map_a_1:
    the overlay layout's one map; cloud: the inspector's noise cloud), each as the JSON data its component received."""
    return {c.proto.id.rsplit("-", 1)[-1]: json.loads(c.proto.json) for c in at.get("bidi_component")
            if "image_map" in c.proto.component_name}


def _plotly(at: AppTest) -> list:
    """The Plotly charts the last run drew (the inspector's votes and sequential path)."""
    return at.get("plotly_chart")


def _star(picture: dict) -> list:
    """The selected point on a picture: [[x, y]] of its star marks (none without a point)."""
    return [[x, y] for m in picture["points"] if m["symbol"] == "star" for x, y in zip(m["xs"], m["ys"])]


MAPS = ["map_a_2", "map_b_2", "radius_map"]         # base f, smoothed g, the exact radius map
WITH_POINT = sorted(MAPS + ["cloud"])                # and the inspector's noise cloud once a point is chosen


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.fixture   # a fresh page per test (tests change it); the caches make the rerun cheap
def fresh() -> AppTest:
    return _page()


def test_default_path_draws_both_maps_and_asks_for_a_point(fresh):
    _ok(fresh)
    assert not fresh.error
    assert sorted(_maps(fresh)) == MAPS and not _plotly(fresh)     # the maps are pictures; no point: no inspector
    assert all(p["clickable"] and not _star(p) for p in _maps(fresh).values())   # a click on any map selects
    assert "Click a point" in page_text(fresh)
    assert fresh.query_params["model"] == "moons-mlp-s0.25"
    assert [m.label for m in fresh.metric][:2] == ["σ", "CERTIFY abstains"]


def test_typed_point_runs_every_provider_and_passes_the_audit(fresh):
    fresh.number_input(key="px").set_value(0.5)
    fresh.number_input(key="py").set_value(0.2).run()
    _ok(fresh)
    table = fresh.dataframe[0].value            # later issues' providers add rows after these four
    assert list(table["method"])[:4] == ["Monte Carlo CERTIFY", "Exact Cohen radius",
                                     "Distance to smoothed boundary", "Distance to base boundary"]
    assert "Every certificate lies inside" in page_text(fresh)
    assert fresh.query_params["x"] == "0.500" and fresh.query_params["y"] == "0.200"
    assert len(_plotly(fresh)) == 2                    # vote histogram, sequential path
    maps = _maps(fresh)                                # the point on all three maps and at the cloud's centre
    assert sorted(maps) == WITH_POINT and all(_star(maps[k]) == [[0.5, 0.2]] for k in WITH_POINT), maps.keys()
    assert not maps["cloud"]["clickable"] and maps["cloud"]["title"].endswith("σ = 0.25")
    # the sequential row comes with the later rows (ui/sequential/provider.py); its sentence heads the path chart
    path = next(e.label for e in fresh.expander if e.label.startswith("Sequential certification: Stopped after"))
    assert "fixed n = 10,000 (10,100 samples with n₀)" in path


def _scrub(at: AppTest) -> tuple[dict, dict]:
    """(the σ scrubber's data, the smoothed map's picture data) of the last run (ui/sigma_scrub.py)."""
    data = next(json.loads(c.proto.json) for c in at.get("bidi_component") if c.proto.id.endswith("sigma_scrub"))
    return data, _maps(at)["map_b_2"]


def test_sigma_slider_reblurs_and_updates_the_url(fresh):
    scrub, smoothed = _scrub(fresh)
    first = set(scrub["frames"])                       # a window around σ: the map's own picture is one of them
    assert scrub["sigma"] == "0.25" and {"0.24", "0.25", "0.26"} <= first
    assert scrub["frames"]["0.25"] == smoothed["image"]
    assert scrub["title"].replace(scrub["title_sigma"], "0.25") == smoothed["title"] == "Smoothed g, σ = 0.25"
    fresh.slider(key="sigma").set_value(0.6).run()
    _ok(fresh)
    assert fresh.query_params["sigma"] == "0.6"
    assert fresh.metric[0].value == "0.6"
    scrub, smoothed = _scrub(fresh)
    assert scrub["sigma"] == "0.6" and not first & set(scrub["frames"])     # each frame is sent to a tab once
    assert scrub["frames"]["0.6"] == smoothed["image"] and smoothed["title"] == "Smoothed g, σ = 0.6"


def test_sigma_scrub_window_is_the_slider_grid_around_sigma():
    assert sigma_scrub.window(0.25, 2) == [0.25, 0.24, 0.26, 0.23, 0.27]      # nearest first
    assert sigma_scrub.window(0.02, 2) == [0.02, 0.03, 0.04] and sigma_scrub.window(1.5, 1) == [1.5, 1.49]
    assert sigma_scrub.window_steps(1) == sigma_scrub.WINDOW_STEPS[1]
    assert sigma_scrub.window_steps(10 ** 9) == sigma_scrub.WINDOW_STEPS[0]
    for sigma in sigma_scrub.window(0.75, 73):          # the JavaScript's label, String(Math.round(σ·100)/100)
        js = repr(round(sigma * 100) / 100)
        assert sigma_scrub.label(sigma) == (js[:-2] if js.endswith(".0") else js)


def test_overlay_and_test_certificates(fresh):
    fresh.radio(key="layout").set_value("overlay")
    fresh.radio(key="show_points").set_value("test certificates").run()
    _ok(fresh)
    assert any(m.label.startswith("Certified at r") for m in fresh.metric)
    assert sorted(_maps(fresh)) == ["map_a_1", "radius_map"]      # one map: g over f's boundary
    fresh.number_input(key="radius_r").set_value(0.5).run()
    _ok(fresh)
    fresh.radio(key="layout").set_value("side by side").run()


def test_certify_settings_change_the_certificate(fresh):
    fresh.number_input(key="px").set_value(0.5)
    fresh.number_input(key="py").set_value(0.2)
    fresh.number_input(key="n").set_value(1000)
    fresh.number_input(key="alpha").set_value(0.01)
    fresh.number_input(key="seed").set_value(3).run()
    _ok(fresh)
    assert "1,000 samples" in fresh.dataframe[0].value["note"][0] or "abstains" in fresh.dataframe[0].value["note"][0]


def test_monte_carlo_check_agrees_with_the_exact_map(fresh):
    fresh.slider(key="mc_size").set_value(4)
    fresh.button(key="mc_run").click().run()
    _ok(fresh)
    inside = next(m for m in fresh.metric if m.label == "Inside 3 standard errors")
    assert float(inside.value.rstrip("%")) >= 80


def test_link_reproduces_model_sigma_and_point():
    at = _page(query={"model": "circles-mlp-s0.5", "sigma": "0.4", "x": "0.1", "y": "-0.2"})
    _ok(at)
    assert at.selectbox(key="model_key").value == "zoo:circles-mlp-s0.5"
    assert at.slider(key="sigma").value == pytest.approx(0.4)
    assert at.number_input(key="px").value == pytest.approx(0.1)
    assert len(at.dataframe) == 1


def test_zero_sigma_in_a_link_is_refused_clearly():
    at = _page(query={"sigma": "0"})
    _ok(at)
    assert any("σ must be positive" in e.value for e in at.error)
    assert at.slider(key="sigma").value == pytest.approx(0.25)
    assert sorted(_maps(at)) == MAPS                   # the page still works


def test_image_model_gets_a_clear_error_not_a_traceback():
    at = _page(query={"model": "digits-cnn-s0"})
    _ok(at)
    assert any("not 2D points" in e.value for e in at.info) and not at.error
    assert not _maps(at) and not _plotly(at)


@pytest.mark.parametrize("query, says", [
    ({"x": "abc", "y": "0.2"}, "x = 'abc' is not a number"),
    ({"x": "0.1"}, "gives x = '0.1' but no y"),
    ({"x": "7", "y": "0.2"}, "(7, 0.2) lies outside the view"),
    ({"sigma": "abc"}, "σ = 'abc' is not a number"),
    ({"sigma": "9"}, "σ = 9 is outside the range [0.02, 1.5]."),
])
def test_bad_links_say_what_is_wrong(query, says):
    at = _page(query=query)
    _ok(at)
    assert any(says in e.value for e in at.error), [e.value for e in at.error]
    assert not any("None" in e.value for e in at.error)


def test_typed_coordinates_out_of_range_and_emptied(fresh):
    fresh.number_input(key="px").set_value(0.5)
    fresh.number_input(key="py").set_value(0.2).run()
    fresh.number_input(key="px").set_value(7.0).run()
    _ok(fresh)
    assert any("x₁ = 7 is outside the view [-3, 3]" in w.value for w in fresh.warning)
    assert fresh.number_input(key="px").value == pytest.approx(0.5)       # the box goes back to the point
    assert fresh.query_params["x"] == "0.500"
    fresh.number_input(key="px").set_value(None).run()                    # emptied: nothing inspected
    _ok(fresh)
    assert "x" not in fresh.query_params and fresh.number_input(key="py").value is None
    assert "Click a point" in page_text(fresh)


def test_every_circle_has_its_own_style_and_the_table_names_it():
    at = _page(query={"x": "0.5", "y": "0.2"})
    _ok(at)
    table = at.dataframe[0].value
    assert len(table) >= 4 and table["circle"].is_unique
    assert table["circle"][0] == "black solid"
    at.toggle(key="all_circles").set_value(True).run()
    _ok(at)


def test_a_click_is_answered_before_the_slow_rows_which_then_arrive_on_their_own(monkeypatch):
    """Issue 17: the fast rows, cloud and votes do not wait for a slow provider; its row is added when it is done.
    A test provider held by an Event stands in for the slow methods, so the order is certain (no timing involved)."""
    import threading

    from runs_kit import wait_for
    from ui import inspector
    from ui.boundaries.answer import PENDING
    gate = threading.Event()
    inspector.providers()                                        # every page's providers are registered first
    fast_only = {k: p for k, p in inspector._REGISTRY.items() if not p.slow}
    monkeypatch.setattr(inspector, "_REGISTRY", fast_only)      # the real slow methods would only take time here

    @inspector.register_provider(order=999, name="test_gated_slow_row", slow=True)
    def gated(ctx):
        gate.wait(120)
        return inspector.RadiusRow("Gated slow row", 0.1, 0, "estimate", False, "released by the test")
    try:
        at = _page(query={"x": "-0.731", "y": "0.417"}, n=1000)
        _ok(at)
        methods = list(at.dataframe[0].value["method"])
        assert methods[:4] == ["Monte Carlo CERTIFY", "Exact Cohen radius", "Distance to smoothed boundary",
                               "Distance to base boundary"] and "Gated slow row" not in methods
        assert len(_plotly(at)) == 2 and PENDING in page_text(at)   # votes, sequential path already
        assert sorted(_maps(at)) == WITH_POINT                     # and the cloud
        gate.set()
        from ui.boundaries import cache as bc
        wait_for(lambda: all(job.done() for job in bc._slow_jobs().values()))
        _ok(at.run())
        assert "Gated slow row" in list(at.dataframe[0].value["method"])
        assert PENDING not in page_text(at) and "Every certificate lies inside" in page_text(at)
    finally:
        gate.set()


def test_a_stale_sigma_in_the_slow_rows_poll_is_put_back(monkeypatch):
    """The inspector table's poll is a fragment rerun that carries the browser's copy of every widget: a σ that
    differs there is stale (a lesson's button had just set another σ) and must not replace the page's σ; in a full
    run (the slider itself moved) σ is left alone. The same guard as the point boxes' (controls.typed)."""
    import streamlit
    from ui.boundaries import controls
    session = {"sigma": 0.25}                          # what the stale poll applied; the page was drawn at 0.5
    monkeypatch.setattr(streamlit, "session_state", session)
    monkeypatch.setattr(controls, "_poll_run", lambda: False)
    controls.keep_sigma(0.5)
    assert session["sigma"] == 0.25                    # a full run: the user's own σ
    monkeypatch.setattr(controls, "_poll_run", lambda: True)
    controls.keep_sigma(0.5)
    assert session["sigma"] == 0.5                     # a poll: the page's σ is put back


def test_the_slow_rows_poll_stops_itself_instead_of_rerunning_the_page(monkeypatch):
    """Issue 17: when the slow rows arrive, the table's fragment tells the browser to stop its run_every timer (a
    whole-page run would rebuild and re-send every chart); outside a fragment's own rerun it declines, and the
    caller falls back to a page run."""
    from types import SimpleNamespace

    from ui.boundaries import answer
    sent = []
    ctx = SimpleNamespace(fragment_ids_this_run=["table-fragment"], enqueue=sent.append)
    monkeypatch.setattr(answer, "get_script_run_ctx", lambda: ctx)
    assert answer.stop_polling()
    assert [list(m.stop_auto_rerun.fragment_ids) for m in sent] == [["table-fragment"]]
    for ids in ([], None, ["table-fragment", "another"]):           # a full run, or not only our fragment
        ctx.fragment_ids_this_run = ids
        assert not answer.stop_polling()
    monkeypatch.setattr(answer, "get_script_run_ctx", lambda: None)
    assert not answer.stop_polling() and len(sent) == 1


def test_the_inspector_fragment_tells_its_own_reruns_from_the_table_poll(monkeypatch):
    """Issue 17: a click or a typed coordinate reruns the inspector's fragment alone (first answer before the page's
    rerun); its own rerun takes the typed boxes as typing, the table's poll (another fragment) as a stale copy, and a
    full run as neither."""
    from types import SimpleNamespace

    import streamlit
    from ui.boundaries import controls
    session = {controls.FRAGMENT: "inspector"}
    ctx = SimpleNamespace(fragment_ids_this_run=["inspector"])
    monkeypatch.setattr(streamlit, "session_state", session)
    monkeypatch.setattr(controls, "get_script_run_ctx", lambda: ctx)
    assert controls.own_rerun() and not controls._poll_run()           # a click or a typed box
    ctx.fragment_ids_this_run = ["table-poll"]
    assert not controls.own_rerun() and controls._poll_run()           # the poll: its box values are stale
    ctx.fragment_ids_this_run = ["table-poll", "inspector"]
    assert controls.own_rerun() and not controls._poll_run()           # both at once: the user's input counts
    for ids in (None, []):                                              # a full run
        ctx.fragment_ids_this_run = ids
        assert not controls.own_rerun() and not controls._poll_run()
    session.clear()                                  # the fragment's id unknown (another Streamlit): typing works
    ctx.fragment_ids_this_run = ["inspector"]
    assert not controls._poll_run()


def test_the_maps_read_out_the_exact_maps_under_each_lattice_point(fresh):
    """The hover read-outs the page sends (ui.image_map's JSON, looked up as its JavaScript does: the packed grid's
    row round((y - y0)/dy), column round((x - x0)/dx)) are the exact maps at the pixel under each lattice point
    (ui.images.lattice_points): on f's map f's class; on g's map g's class, its exact p_A and the exact certified
    radius (Cohen et al., 2019, Theorem 1); on the radius map that radius. The exact maps are computed here again."""
    from cert_core import grid
    from ui import state
    from ui.images import lattice_points
    current = state.zoo_current_model(state.DEFAULT_MODEL)
    base = grid.evaluate_base(current.model, state.VIEW, 100, state.SIGMA_MAX)      # the page: resolution 100
    probs = grid.blur(base, 0.25)                                                   # (K, R, R)
    radius = grid.exact_radius(probs, 0.25)                                         # (R, R)
    pts, ij = lattice_points(base.view)
    under = (ij[:, 0], ij[:, 1])
    maps = _maps(fresh)

    def read(r: dict, packed: str, dtype: str) -> np.ndarray:
        """The packed grid (image_map._packed: little-endian, row after row) at every lattice point."""
        values = np.frombuffer(base64.b64decode(packed), dtype).reshape(r["shape"])
        i = np.rint((pts[:, 1] - r["y0"]) / r["dy"]).astype(int)
        j = np.rint((pts[:, 0] - r["x0"]) / r["dx"]).astype(int)
        return values[i, j]

    f, g, rad = (maps[k]["readout"] for k in MAPS)
    assert (f["class_label"], g["class_label"]) == ("f", "g")
    assert f["class_names"] == g["class_names"] == list(current.class_names) and f["rows"] is None
    assert np.array_equal(read(f, f["classes"], "<u2"), base.crop()[under])
    assert np.array_equal(read(g, g["classes"], "<u2"), probs.argmax(0)[under])
    assert g["label"] == "p_A" and np.allclose(read(g, g["rows"], "<f4"), probs.max(0)[under], atol=1e-5)
    (more,) = g["more"]
    for r, packed in ((g, more["rows"]), (rad, rad["rows"])):
        assert np.allclose(read(r, packed, "<f4"), radius[under], atol=1e-5, equal_nan=True)
    assert more["label"] == "exact radius" and len(set(probs.argmax(0)[under])) == 2       # both classes read


def test_look_ahead_makes_the_next_steps_maps_and_scrub_frames():
    """After a run, the background look-ahead (ui/boundaries/cache.py) has made the σ-scrub frames of the windows
    one slider step either side, so the next σ step finds them made and only sends them."""
    from ui import state
    from ui.boundaries import cache as bc
    current = state.zoo_current_model(state.DEFAULT_MODEL)
    m = bc.maps(current, 0.4, 100, bc.CertifyParams(100, 10_000, 0.001, 0))
    bc.look_ahead(current, m, 0.4, False).result(timeout=120)
    fid = bc.frames_id(current, m, False)
    steps = sigma_scrub.window_steps(len(bc.map_frame(current, m, 0.4, False))) + bc.AHEAD_STEPS
    assert all(sigma_scrub.made(fid, s) for s in sigma_scrub.window(0.4, steps))
