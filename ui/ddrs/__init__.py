"""The per-input σ page's slice: its cached calls and studies keyed by ``PageParams`` (``cache``), pure figures
(``figures``), the model-or-stop and counterexample sections (``views``) and its row in the point inspector
(``provider``)."""
