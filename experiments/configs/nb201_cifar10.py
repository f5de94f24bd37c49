"""DARTS in the NAS-Bench-201 space on CIFAR-10, as NAS-Bench-201 searched it (Dong & Yang, 2020;
its authors' code, xautodl ``exps/NAS-Bench-201-algos/DARTS-V1.py`` and ``configs/nas-benchmark``):
C=16, five cells per stage, the weight step before the alpha step."""

import ml_collections

from experiments.configs import default


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg`` may be 'quick' (a small subset at low resolution, one cell per stage) to check a
  setup."""
  c = default.get_config()
  c.space = "nb201"
  c.network = ml_collections.ConfigDict({"channels": 16, "cells_per_stage": 5})  # NB201: C=16, N=5
  c.data = default.dataset("cifar10", crop_padding=4, flip=True)  # NB201: crop 4 and flip
  c.batch_size, c.epochs = 64, 50  # NB201 search recipe: batch 64, 50 epochs
  c.step_order = "weights_first"  # NB201's DARTS loop: weight step, then alpha step
  # NB201 search recipe: SGD lr 0.025 cosine to 0.001, Nesterov momentum 0.9, weight decay 5e-4,
  # grad clip 5.
  c.weights.update({"lr": 0.025, "min_lr": 0.001, "momentum": 0.9, "nesterov": True,
                    "weight_decay": 5e-4, "clip_norm": 5.0})
  # NB201 search recipe: Adam lr 3e-4, betas (0.5, 0.999), weight decay 1e-3.
  c.alphas.update({"lr": 3e-4, "b1": 0.5, "b2": 0.999, "weight_decay": 1e-3})
  if arg == "quick":
    c.network.channels, c.network.cells_per_stage, c.epochs, c.batch_size = 4, 1, 1, 32
    c.data.subset_size, c.data.resolution = 256, 16
  return c
