"""Bayesian optimization with Optuna's TPE sampler over the categorical decisions."""

from __future__ import annotations

REQUIREMENT = "optuna>=4.0"


def _optuna():
  try:
    import optuna  # pylint: disable=import-outside-toplevel
  except ImportError:
    raise ImportError(f"the 'bo' strategy needs Optuna: pip install '{REQUIREMENT}'") from None
  optuna.logging.set_verbosity(optuna.logging.WARNING)
  return optuna


class TPEBayesOpt:
  """Tree-structured Parzen estimator (BOHB's model without Hyperband: one fidelity here), driven
  through Optuna's own ask/tell; ``n_startup_trials`` random samples come first."""

  def __init__(self, encoding, *, seed: int, n_startup_trials: int = 10, multivariate: bool = True):
    optuna = _optuna()
    self.encoding = encoding
    self._distributions = {f"d{k}": optuna.distributions.CategoricalDistribution(tuple(range(n)))
                           for k, n in enumerate(encoding.cardinalities)}
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials,
                                         multivariate=multivariate)
    self._study = optuna.create_study(direction="maximize", sampler=sampler)
    self._trial = None

  def ask(self):
    self._trial = self._study.ask(self._distributions)
    return tuple(self._trial.params[name] for name in self._distributions)

  def tell(self, arch, score: float) -> None:
    if self._trial is None or arch != tuple(self._trial.params[n] for n in self._distributions):
      raise ValueError("tell() must report the architecture returned by the last ask()")
    self._study.tell(self._trial, score)
    self._trial = None
