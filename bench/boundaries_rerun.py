"""What does the decision-boundaries page's server-side work after a σ commit cost, piece by piece? (issue 17)

In one process, without Streamlit: for the default model at 300 px and σ = 0.26, the CPU milliseconds (median of
--repeats, ``time.process_time``) of what a σ step recomputes — the blur, the exact radius, the map pictures, the
two maps, the radius tab's map — and the JSON bytes of the maps the page sends. The maps are ``ui.image_map``
pictures (``figures.map_picture`` / ``radius_picture``; their JSON is ``MapPicture.data()``, what the component
is sent) or, in a checkout from before they were (``figures.map_figure``), Plotly figures (``pio.to_json``).
``--root`` points at another checkout (e.g. main) so before and after are measured back to back by the same script;
pieces a checkout caches per (model, resolution, σ, style) are timed as the cached call (a dictionary look-up, ~0),
since that is what its rerun pays.

    python bench/boundaries_rerun.py [--root /work/main] [--repeats 7]
"""
from __future__ import annotations

import argparse
import inspect
import json
import pathlib
import statistics
import sys
import time


def cpu_ms(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.process_time()
        out = fn()
        times.append(time.process_time() - start)
    return statistics.median(times) * 1e3, out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parent.parent)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(args.root))
    from cert_core import grid
    from cert_core.models.data import BOX_2D
    from cert_core.models.zoo import load_zoo_model
    from ui.boundaries import explorer
    from ui.boundaries import figures as bf
    model = load_zoo_model("moons-mlp-s0.25").model
    base = grid.evaluate_base(model, BOX_2D, 300, 1.5)
    sigma, abstain_p, rows = 0.26, 0.5156, {}
    rows["blur"], probs = cpu_ms(lambda: grid.blur(base, sigma), args.repeats)
    rows["exact radius"], radius = cpu_ms(lambda: grid.exact_radius(probs, sigma), args.repeats)
    cached = "images" in inspect.signature(explorer.map_specs).parameters     # this branch: pictures cached
    specs_args = (base.view, base.crop(), probs, radius, ("class 0", "class 1"), sigma, abstain_p, False, None,
                  None, None, [])
    if cached:
        from ui.images import base_image, png_uri, smoothed_image
        images = (png_uri(base_image(base.crop())), png_uri(smoothed_image(probs, abstain_p)))
        rows["map specs (pictures cached)"], specs = cpu_ms(lambda: explorer.map_specs(*specs_args, images),
                                                            args.repeats)
    else:
        rows["map specs (pictures encoded)"], specs = cpu_ms(lambda: explorer.map_specs(*specs_args), args.repeats)
    if hasattr(bf, "map_picture"):                          # ui.image_map pictures
        picture = bf.radius_image(radius, sigma)            # cached per (model, resolution, σ) by the page
        rows["map pictures ×2"], maps = cpu_ms(lambda: [bf.map_picture(s) for s in specs], args.repeats)
        rows["map pictures ×2, JSON"], maps_json = cpu_ms(lambda: [json.dumps(m.data()) for m in maps],
                                                          args.repeats)
        rows["radius picture (picture cached)"], rmap = cpu_ms(
            lambda: bf.radius_picture(base.view, radius, sigma, None, picture), args.repeats)
        rows["radius picture, JSON"], radius_json = cpu_ms(lambda: json.dumps(rmap.data()), args.repeats)
    else:                                                   # Plotly figures (before issue 17's σ step)
        import plotly.io as pio
        rows["map figures ×2"], figs = cpu_ms(lambda: [bf.map_figure(s) for s in specs], args.repeats)
        rows["map figures ×2, JSON"], maps_json = cpu_ms(lambda: [pio.to_json(f, validate=False) for f in figs],
                                                          args.repeats)
        if "image" in inspect.signature(bf.radius_figure).parameters:
            picture = bf.radius_image(radius, sigma)            # cached per (model, resolution, σ) by the page
            rows["radius figure (picture cached)"], rfig = cpu_ms(
                lambda: bf.radius_figure(base.view, radius, sigma, None, picture), args.repeats)
        else:
            rows["radius figure"], rfig = cpu_ms(lambda: bf.radius_figure(base.view, radius, sigma, None),
                                                 args.repeats)
        rows["radius figure, JSON"], radius_json = cpu_ms(lambda: pio.to_json(rfig, validate=False), args.repeats)
    print(f"checkout {args.root}")
    print("| piece of a σ step (300 px) | CPU (ms) |\n|---|---|")
    for name, ms in rows.items():
        print(f"| {name} | {ms:.1f} |")
    print(f"| **total** | **{sum(rows.values()):.1f}** |")
    print(f"JSON sent: maps {' + '.join(f'{len(j) / 1e3:.0f}' for j in maps_json)} kB, radius tab "
          f"{len(radius_json) / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
