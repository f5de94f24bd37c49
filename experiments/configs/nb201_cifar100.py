"""DARTS in the NAS-Bench-201 space on CIFAR-100, as NAS-Bench-201 searched it: C=16, five cells per
stage, batch 64, 50 epochs."""

import ml_collections

from experiments.configs import default


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg`` may be 'quick' (a small subset at low resolution, one cell per stage) to check a
  setup."""
  c = default.get_config()
  c.space = "nb201"
  c.network = ml_collections.ConfigDict({"channels": 16, "cells_per_stage": 5})
  c.data = ml_collections.ConfigDict({
      "name": "cifar100", "data_dir": "", "download": False,
      "splits": {"train": "train[:50%]", "val": "train[50%:]", "test": "test"},
      "subset_fraction": 1.0, "subset_size": 0, "resolution": 0,
      "augment": {"crop_padding": 4, "flip": True, "cutout": 0}, "prefetch": 2})
  c.batch_size, c.epochs = 64, 50
  if arg == "quick":
    c.network.channels, c.network.cells_per_stage, c.epochs, c.batch_size = 4, 1, 1, 32
    c.data.subset_size, c.data.resolution = 256, 16
  return c
