"""Proxy training of NB201 cells on the embedded digits: the proxy evaluator's search signal."""

import ml_collections

from experiments.configs import retrain


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """'' is the proxy (2 epochs on half the search data); 'long' the longer training it is checked
  against (10 epochs, all the data); 'quick' the proxy at a smoke-test width (4 channels)."""
  c = retrain.get_config()
  c.genotype = ""  # set per query by the evaluator
  c.network = ml_collections.ConfigDict({"channels": 8, "cells_per_stage": 1})
  c.auxiliary_weight, c.drop_path = 0.0, 0.0  # defined for DARTS networks only
  c.select_on_val = True  # score on the held-out val split, never on test
  c.batch_size, c.lr = 32, 0.05  # enough steps on a few hundred images
  c.epochs = 2
  c.data.subset_fraction, c.data.resolution = 0.5, 0  # resolution 0: native 8x8
  if arg == "long":
    c.epochs, c.data.subset_fraction = 10, 1.0
  if arg == "quick":
    c.network.channels = 4
  return c
