"""Activation paths: a model as affine steps and neuron layers (``network``), patterns, float neurons and path
sums (``neurons``), SC-RFP (``scrfp``), the soundness audit of certified radii (``audit``) and Lipschitz- vs
float-neuron-vulnerable adversarial examples (``vulnerability``)."""
