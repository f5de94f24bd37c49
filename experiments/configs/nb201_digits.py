"""DARTS search in the NAS-Bench-201 space on the embedded digits dataset."""

import ml_collections

from experiments.configs import default


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg`` may be 'quick' for a smoke-test-sized run (one cell per stage, 4 channels)."""
  c = default.get_config()
  c.space = "nb201"
  c.network = ml_collections.ConfigDict({"channels": 8, "cells_per_stage": 2})
  if arg == "quick":
    c.network.channels, c.network.cells_per_stage, c.epochs, c.batch_size = 4, 1, 1, 32
  return c
