"""Models and what they are made of: architectures and safe bundle loading (``bundles``), Björck layers
(``orthogonal``), datasets (``data``), noise-augmented training (``train``) and the built-in zoo (``zoo``)."""
