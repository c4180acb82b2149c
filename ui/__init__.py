"""Streamlit/Plotly glue for the pages; cert_core stays free of Streamlit and Plotly.

Two levels. Modules at the top of ``ui`` are app-wide and any page may use them: ``navigation`` (the page
registry), ``state`` (current model, sigma, point, URL), ``sidebar``, ``theme`` (palette, fonts), ``presenter``,
``cache`` (cached calls several pages share), ``images`` (region maps as PNG), ``inspector`` (the
certificate-provider protocol), ``glossary`` and ``lessons``; the runs page's ``run_*`` and ``report``.
A package ``ui/<page>/`` is one page's slice -- ``cache`` (its cached calls), ``figures`` (pure functions
returning go.Figure) and ``provider`` (its rows in the point inspector, discovered by ``inspector``) -- and is
imported by that page only (and by ``inspector`` for its provider).
A run method without a page of its own may have a *method slice* ``ui/<method>/`` (``sequential``: its inspector
row and the chart under the inspector's table), imported only by the decision-boundaries page, the inspector's home.
"""
