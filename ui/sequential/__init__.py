"""Sequential, anytime-valid CERTIFY in the point inspector (``cert_core.sequential``): the bound on p_A and the
certified radius along the sampling path (``cache``), its figure (``figures``), the inspector's row (``provider``)
and the chart under the inspector's table (``views``)."""
