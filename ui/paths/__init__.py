"""The activation-paths & SC-RFP page's slice: its cached calls (``cache``, keyed by ``SurfaceParams`` and
``AuditParams``), pure figures (``figures``), the model-or-stop, counterexample and audit sections (``views``) and
the SC-RFP row in the point inspector (``provider``)."""
