"""The activation-paths & SC-RFP page's slice: its cached calls (``cache``), pure figures (``figures``) and the
SC-RFP row in the point inspector (``provider``)."""
