"""SDARTS-RS (Chen & Hsieh, 2020): DARTS whose weight step sees softmax weights plus uniform noise in
[-eps, eps], eps ramped 0.03 -> 0.3 over the epochs as the authors' code does (darts_jax/methods/
sdarts.py). First-order alphas, as in all their runs."""

import ml_collections

from experiments.configs import darts_cifar10, nb201_cifar10


def sdarts_config(method: str, arg: str = "") -> ml_collections.ConfigDict:
  """``arg``: comma-separated words. '' is the DARTS space on CIFAR-10 (their S5 = quark0/darts'
  recipe, 50 epochs); 'nb201' the NAS-Bench-201 space on CIFAR-10 (C=16, N=5, 50 epochs, batch 64,
  experiments/configs/nb201_cifar10.py) with SDARTS' loop order: the alpha step, then the perturbed
  weight step; 'quick' shrinks either to a smoke-test run."""
  words = {w.strip() for w in arg.split(",") if w.strip()}
  unknown = words - {"nb201", "quick"}
  if unknown:
    raise ValueError(f"unknown config arg(s) {sorted(unknown)}; use 'nb201' and/or 'quick'")
  quick = "quick" if "quick" in words else ""
  if "nb201" in words:
    c = nb201_cifar10.get_config(quick)
    c.step_order = "alphas_first"  # SDARTS' train(): architect.step, then the weight step
  else:
    c = darts_cifar10.get_config(quick)
  c.architect = "first_order"
  c.method = method
  # Their defaults (darts_jax.methods.sdarts): eps from 0.03 growing linearly toward 0.3.
  c.method_options = ml_collections.ConfigDict({"epsilon": 0.3, "epsilon_start": 0.03})
  return c


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  return sdarts_config("sdarts_rs", arg)
