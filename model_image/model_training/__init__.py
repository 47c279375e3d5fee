"""Training extra of the model-server distribution: the iris model's training and export, and a generator of
large test models. Installed with ``pip install -e './model_image[train]'``; never part of the image."""
