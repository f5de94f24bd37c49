"""DARTS in the NAS-Bench-201 space on CIFAR-100, as NAS-Bench-201 searched it: C=16, five cells per
stage, batch 64, 50 epochs."""

import ml_collections

from experiments.configs import nb201_cifar10


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg`` may be 'quick' (a small subset at low resolution, one cell per stage) to check a
  setup."""
  c = nb201_cifar10.get_config(arg)
  c.data.name = "cifar100"
  return c
