"""The main job: the default search on the embedded digits, then a short retrain of the found cell."""

import ml_collections

from experiments.configs import default, retrain


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg`` may be 'quick' for a smoke-test-sized run."""
  c = ml_collections.ConfigDict()
  c.search = default.get_config(arg)
  c.retrain = retrain.get_config(arg)
  c.retrain.genotype = "(the genotype the search finds)"
  return c
