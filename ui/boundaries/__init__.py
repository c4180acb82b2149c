"""The decision-boundaries page's slice: its cached calls (``cache``: the exact maps, shown points, inspector rows,
noise cloud, Monte Carlo check), the explorer's figure specs, table rows and headline numbers (``explorer``), the
figures (``figures``), the inspector's inputs (``controls``), its answer with the slow rows streamed in (``answer``)
and its own rows: Cohen's certificate and the 2D
ground truth (``provider``)."""
