"""Streamlit/Plotly glue shared by the pages: state, caching, figures, the point inspector.

cert_core stays free of Streamlit and Plotly; everything UI-specific lives here. Modules:
``theme`` (palette, fonts), ``state`` (current model, sigma, point, URL), ``cache`` (cached
cert_core calls), ``figures`` / ``charts`` (pure functions returning go.Figure), ``inspector``
(the certificate-provider registry) and ``providers`` (built-in providers, auto-discovered).
"""
