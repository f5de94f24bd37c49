"""A DARTS-space search sized for CI (tests/search_darts_test.py): 3 cells (normal, reduce, reduce:
the fewest with a normal cell) of 2 channels over one op of each kind (zero, pool, identity,
separable conv), on 32 + 32 digits images (8x8 grey), batch 16: 2 epochs of 2 steps, with DARTS'
crop and cutout (scaled to 8x8) so that the device augmentation is part of every run and resume.

Compiling the step is nearly all of its cost, and grows with the op set, not with channels or batch:
on 2 CPU cores a first-order step compiled in ~9 s with these ops, ~12.5 s with max_pool_3x3 for
avg_pool_3x3 (its first-wins gradient), and ~4x longer with all 8 DARTS ops."""

import ml_collections

from experiments.configs import default

OPS = ("none", "avg_pool_3x3", "skip_connect", "sep_conv_3x3")


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg``: the architect (first_order when empty), e.g. ``darts_tiny.py:second_order``."""
  c = default.get_config()
  c.architect = arg or "first_order"
  c.ops = OPS
  c.network = ml_collections.ConfigDict({"channels": 2, "layers": 3, "pool_batchnorm": True})
  c.data.subset_size = 32  # of train and of val: 2 batches of 16 per epoch
  c.data.augment.crop_padding, c.data.augment.cutout = 1, 2  # CIFAR's 4 and 16 at 8x8 are too much
  c.batch_size, c.epochs = 16, 2
  # No per-epoch Hessian eigenvalue: its Hessian-vector products compile a program as large as a
  # second-order step (tests/methods_sdarts_test.py's search computes it).
  c.diagnostics.hessian_iterations = 0
  return c
