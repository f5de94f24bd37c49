"""The main job: the default search on the embedded digits, then a short retrain of the found cell."""

import ml_collections

from experiments.configs import default, nb201_digits, retrain


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg``: '' (DARTS space), 'quick' (smoke-test size), 'nb201' or 'nb201_quick' (the
  NAS-Bench-201 space, whose supernet compiles fastest)."""
  nb201 = arg.startswith("nb201")
  size = arg.removeprefix("nb201").lstrip("_")
  c = ml_collections.ConfigDict()
  c.search = (nb201_digits if nb201 else default).get_config(size)
  c.retrain = retrain.get_config(size)
  c.retrain.genotype = "(the genotype the search finds)"
  if nb201:
    c.retrain.network = ml_collections.ConfigDict(c.search.network.to_dict())
    c.retrain.drop_path = 0.0  # drop-path and the auxiliary head are DARTS-network features
  return c
