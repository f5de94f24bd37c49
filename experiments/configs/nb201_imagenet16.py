"""DARTS in the NAS-Bench-201 space on ImageNet16-120 (16x16 ImageNet, its first 120 classes; the
test split is ImageNet's validation set), as NAS-Bench-201 searched it: C=16, five cells per stage,
batch 64, 50 epochs."""

import ml_collections

from experiments.configs import nb201_cifar10


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg`` may be 'quick' (a small subset at 8x8, one cell per stage) to check a setup."""
  c = nb201_cifar10.get_config(arg)
  c.data.name = "imagenet16_120"
  c.data.augment.crop_padding = 2
  if arg == "quick":
    c.data.resolution = 8
  return c
