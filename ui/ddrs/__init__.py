"""The per-input σ page's slice: its cached calls (``cache``), pure figures (``figures``) and its row in the point
inspector (``provider``)."""
