"""Cost of one architecture: parameters, FLOPs, latency per batch size, energy, device."""

import ml_collections


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg`` may be 'quick' for a smoke-test-sized run (tiny network, small batches, few repeats)."""
  c = ml_collections.ConfigDict()
  c.genotype = "DARTS_V2"  # published name, genotype.json path, DARTS literal or NB201 string
  c.ops_module = ""  # modules (comma-separated) that register custom ops, imported first
  c.space = ""  # '' = the genotype's own space (darts_cnn or nb201)
  c.channels = 0  # 0 = the network builder's default (DARTS C=36 / 48 ImageNet; NB201 C=16)
  c.layers = 0  # cells (DARTS) or cells per stage (NB201); 0 = default (20 / 14 ImageNet; 5)
  c.setting = ""  # DARTS stem: '' or 'cifar', or 'imagenet' (two strided stems)
  c.num_classes = 10
  c.image_size = 32
  c.batch_sizes = (1, 32, 256)  # as HW-NAS-Bench reports
  c.warmup = 2
  c.repeats = 10
  c.build_lut = False  # True: measure the per-op lookup table of the space instead
  c.lut = "lut.json"  # where build_lut adds its table (keyed by device kind)
  if arg == "quick":
    c.channels, c.layers, c.image_size, c.batch_sizes, c.repeats = 4, 3, 16, (1, 2), 3
  return c
