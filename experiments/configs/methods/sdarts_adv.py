"""SDARTS-ADV (Chen & Hsieh, 2020): DARTS whose weight step sees softmax weights attacked by a
7-step L-infinity PGD (step 2 eps / 7, random start), eps ramped 0.03 -> 0.3 over the epochs as the
authors' code does (darts_jax/methods/sdarts.py). First-order alphas. Each weight step costs about
eight forward-backward passes (the attack's seven and the step's own)."""

import ml_collections

from experiments.configs.methods import sdarts_rs


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg`` as sdarts_rs: '' (DARTS space), 'nb201', 'cifar10', 'quick', comma-separated."""
  c = sdarts_rs.sdarts_config("sdarts_adv", arg)
  c.method_options.update({"steps": 7, "random_start": True})
  return c
