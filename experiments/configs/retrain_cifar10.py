"""The DARTS CIFAR-10 evaluation recipe (quark0/darts ``train.py`` with the README's flags): 20 cells,
C=36, batch 96, 600 epochs, SGD 0.025 cosine to 0, cutout 16, auxiliary 0.4, drop-path 0.2."""

import ml_collections

from experiments.configs import default, retrain


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg`` may be 'quick': 2 epochs of a small network on a 5% subset, to check a setup."""
  c = retrain.get_config()
  c.network = ml_collections.ConfigDict({"setting": "cifar", "channels": 36, "layers": 20})
  c.data = default.dataset("cifar10", crop_padding=4, flip=True, cutout=16)
  c.batch_size, c.epochs = 96, 600
  c.auxiliary_weight, c.drop_path = 0.4, 0.2
  if arg == "quick":
    c.network.channels, c.network.layers, c.epochs = 8, 5, 2
    c.data.subset_fraction = 0.05
  return c
