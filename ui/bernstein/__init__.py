"""The Bernstein smoothing page's slice: its cached calls (``cache``), pure figures (``figures``) and its rows in
the point inspector (``provider``)."""
