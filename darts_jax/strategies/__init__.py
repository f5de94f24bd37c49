"""Non-gradient search strategies behind one ask/tell interface: ``make('rea', enc, seed=0)``."""

from darts_jax.strategies.base import Evaluator, SearchResult, Strategy, TableEvaluator, run
from darts_jax.strategies.bayesian import TPEBayesOpt
from darts_jax.strategies.encoding import CategoricalEncoding, Encoding
from darts_jax.strategies.evolution import RegularizedEvolution
from darts_jax.strategies.proxy import ProxyEvaluator
from darts_jax.strategies.random_search import RandomSearch
from darts_jax.strategies.reinforce import Reinforce

STRATEGIES = {"random": RandomSearch, "rea": RegularizedEvolution, "reinforce": Reinforce,
              "bo": TPEBayesOpt}


def make(name: str, encoding: Encoding, *, seed: int, **kwargs) -> Strategy:
  """A strategy by name, seeded; keyword arguments set its hyperparameters."""
  try:
    return STRATEGIES[name](encoding, seed=seed, **kwargs)
  except KeyError:
    raise ValueError(f"unknown strategy {name!r}; choose one of {sorted(STRATEGIES)}") from None


__all__ = ["STRATEGIES", "CategoricalEncoding", "Encoding", "Evaluator", "ProxyEvaluator",
           "RandomSearch", "RegularizedEvolution", "Reinforce", "SearchResult", "Strategy",
           "TPEBayesOpt", "TableEvaluator", "make", "run"]
