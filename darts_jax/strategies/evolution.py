"""Regularized (aging) evolution, Real et al. 2019, Algorithm 1."""

from __future__ import annotations

import collections

import numpy as np

from darts_jax.strategies.encoding import Encoding


class RegularizedEvolution:
  """Random population first; then the best of a tournament (drawn with replacement) is mutated and
  the child replaces the oldest member. NB201 defaults: population 10, sample size 3."""

  def __init__(self, encoding: Encoding, *, seed: int, population_size: int = 10,
               sample_size: int = 3):
    if not 1 <= sample_size <= population_size:
      raise ValueError(f"sample_size={sample_size} must lie in [1, population_size={population_size}]")
    self.encoding, self.population_size, self.sample_size = encoding, population_size, sample_size
    self.population = collections.deque()
    self._rng = np.random.default_rng(seed)

  def ask(self):
    if len(self.population) < self.population_size:
      return self.encoding.sample(self._rng)
    picks = self._rng.integers(len(self.population), size=self.sample_size)
    parent = max((self.population[int(k)] for k in picks), key=lambda member: member[1])[0]
    return self.encoding.mutate(parent, self._rng)

  def tell(self, arch, score: float) -> None:
    self.population.append((arch, score))
    if len(self.population) > self.population_size:
      self.population.popleft()
