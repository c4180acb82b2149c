"""Activation paths, float neurons and SC-RFP (``neurons``), the soundness audit of certified radii
(``audit``) and Lipschitz- vs float-neuron-vulnerable adversarial examples (``vulnerability``)."""
