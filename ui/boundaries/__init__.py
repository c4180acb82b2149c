"""The decision-boundaries page's slice: the explorer's figure specs and table rows (``explorer``), the map
figures (``figures``) and the inspector's own rows: Cohen's certificate and the 2D ground truth (``provider``)."""
