"""SDARTS-RS (Chen & Hsieh, 2020): DARTS whose weight step sees softmax weights plus uniform noise in
[-eps, eps], eps ramped 0.03 -> 0.3 over the epochs as the authors' code does (darts_jax/methods/
sdarts.py). First-order alphas, as in all their runs."""

import ml_collections

from experiments.configs import methods as configs


def sdarts_config(method: str, arg: str = "") -> ml_collections.ConfigDict:
  """``arg``: comma-separated words. '' is the DARTS space with their S5 recipe (= quark0/darts':
  50 epochs, batch 64) on the embedded digits; 'nb201' the NAS-Bench-201 space (NAS-Bench-201's
  protocol: C=16, N=5, 50 epochs, batch 64) with SDARTS' loop order: the alpha step, then the
  perturbed weight step; 'cifar10' searches CIFAR-10 with crop and flip at the papers' network sizes
  instead of the digits configs'; 'quick' shrinks any of them to a smoke-test run."""
  words, base = configs.parse(arg)
  quick = "quick" if "quick" in words else ""
  nb201 = "nb201" in words
  c = base.get_config(quick)
  if nb201:
    c.step_order = "alphas_first"  # SDARTS' train(): architect.step, then the weight step
  if not quick:
    c.epochs, c.batch_size = 50, 64  # their train_search.py (both spaces): 50 epochs, batch 64
  c.architect = "first_order"
  c.method = method
  # Their defaults (darts_jax.methods.sdarts): eps from 0.03 growing linearly toward 0.3.
  c.method_options = ml_collections.ConfigDict({"epsilon": 0.3, "epsilon_start": 0.03})
  return c


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  return sdarts_config("sdarts_rs", arg)
