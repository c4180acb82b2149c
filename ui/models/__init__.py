"""The Models page's slice: the zoo cards, training and uploads (``hub``) and their charts (``figures``)."""
