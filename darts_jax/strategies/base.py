"""The ask/tell strategy protocol, evaluators, and the loop that runs one search under a budget."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from darts_jax.strategies.encoding import Encoding


class Strategy(Protocol):
  """Proposes architectures (``ask``) and learns from their scores (``tell``), one at a time."""

  def ask(self) -> Any:
    """The next architecture to evaluate."""

  def tell(self, arch, score: float) -> None:
    """The score of the architecture returned by the last ``ask`` (higher is better)."""


class Evaluator(Protocol):
  """Scores an architecture; ``num_queries`` counts the calls so budgets can be enforced."""

  num_queries: int

  def __call__(self, arch) -> float:
    """The search signal for ``arch``."""


class TableEvaluator:
  """Looks the search signal up in a benchmark table (default: NB201's 12-epoch CIFAR-10 validation
  accuracy) and counts every query, repeats included, as the protocol charges each one."""

  def __init__(self, tables, encoding: Encoding, metric: str = "valid_accuracy",
               dataset: str = "cifar10", epochs: int = 12):
    self.tables, self.encoding = tables, encoding
    self._values = tables.column(metric, dataset, epochs)
    self.num_queries = 0

  def __call__(self, arch) -> float:
    self.num_queries += 1
    return float(self._values[self.tables.row(self.encoding.decode(arch))])


@dataclasses.dataclass(frozen=True)
class SearchResult:
  """Every (architecture, score) in query order; ``best`` is the highest-scoring one."""

  history: tuple[tuple[Any, float], ...]

  @property
  def best(self):
    return max(self.history, key=lambda entry: entry[1])[0]

  @property
  def best_so_far(self) -> list[float]:
    """The incumbent's score after each query (the usual anytime curve)."""
    curve, best = [], float("-inf")
    for _, score in self.history:
      best = max(best, score)
      curve.append(best)
    return curve


def run(strategy: Strategy, evaluator: Evaluator, budget: int) -> SearchResult:
  """Asks, evaluates and tells until ``budget`` queries have been made."""
  history = []
  while evaluator.num_queries < budget:
    arch = strategy.ask()
    score = evaluator(arch)
    strategy.tell(arch, score)
    history.append((arch, score))
  return SearchResult(tuple(history))
