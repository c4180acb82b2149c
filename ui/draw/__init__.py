"""The "Draw your data" page's slice: the drawing's session state and controls (``views``), its cached maps
(``cache``) and its pure figures (``figures``)."""
