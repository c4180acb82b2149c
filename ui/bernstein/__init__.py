"""The Bernstein smoothing page's slice: its cached calls and studies (``cache``, the plane keyed by
``PlaneParams``), pure figures (``figures``) and its rows in the point inspector (``provider``)."""
