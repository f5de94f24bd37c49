"""Random search: uniform samples, no learning (the NAS-Bench-201 baseline)."""

from __future__ import annotations

import numpy as np

from darts_jax.strategies.encoding import Encoding


class RandomSearch:
  """Each ``ask`` is a fresh uniform sample; ``tell`` is ignored."""

  def __init__(self, encoding: Encoding, *, seed: int):
    self.encoding = encoding
    self._rng = np.random.default_rng(seed)

  def ask(self):
    return self.encoding.sample(self._rng)

  def tell(self, arch, score: float) -> None:
    del arch, score
