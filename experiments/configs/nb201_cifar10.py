"""DARTS in the NAS-Bench-201 space on CIFAR-10, as NAS-Bench-201 searched it: C=16, five cells per
stage, batch 64, 50 epochs."""

import ml_collections

from experiments.configs import default


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg`` may be 'quick' (a small subset at low resolution, one cell per stage) to check a
  setup."""
  c = default.get_config()
  c.space = "nb201"
  c.network = ml_collections.ConfigDict({"channels": 16, "cells_per_stage": 5})
  c.data = default.dataset("cifar10", crop_padding=4, flip=True)
  c.batch_size, c.epochs = 64, 50
  if arg == "quick":
    c.network.channels, c.network.cells_per_stage, c.epochs, c.batch_size = 4, 1, 1, 32
    c.data.subset_size, c.data.resolution = 256, 16
  return c
