"""The DARTS CIFAR-10 search recipe (Liu et al., 2019; quark0/darts ``train_search.py``): 8 cells,
C=16, batch 64, 50 epochs, the 50k training images halved into 25k/25k weight/alpha splits, crop and
flip."""

import ml_collections

from experiments.configs import default


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg`` may be 'quick' (a 2% subset at 16x16, a small network, 1 epoch) to check a setup, or
  'second_order' for the paper's second-order result."""
  c = default.get_config()
  c.network = ml_collections.ConfigDict({"channels": 16, "layers": 8, "pool_batchnorm": True})
  c.data = default.dataset("cifar10", crop_padding=4, flip=True)
  c.batch_size, c.epochs = 64, 50
  if arg == "second_order":
    c.architect = "second_order"
  if arg == "quick":
    c.network.channels, c.network.layers, c.epochs, c.batch_size = 4, 3, 1, 32
    c.data.subset_fraction, c.data.resolution = 0.02, 16
  return c
