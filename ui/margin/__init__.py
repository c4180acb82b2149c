"""The smoothed-robustness (SRA) page's slice: its cached calls (``cache``), pure figures (``figures``) and the
Lipschitz/margin rows in the point inspector (``provider``)."""
