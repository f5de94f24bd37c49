"""FairDARTS (Chu et al., ECCV 2020): sigmoid mixing weights, the zero-one loss with weight 10 and
discretization at sigmoid 0.85 (darts_jax/methods/fair_darts.py), with the authors' search recipe
(xiaomi-automl/FairDARTS ``fairdarts/train_search.py``) on the embedded digits:
``experiments/configs/default.py``'s network for the DARTS space, ``nb201_digits.py``'s for
NAS-Bench-201.

The search space differs from DARTS': FairDARTS searches without ``none`` (their ``PRIMITIVES``
are the other 7 DARTS ops), so ``c.ops`` lists the space's ops minus ``none``. Dropped edges are
written ``none`` in the genotype, an op of each space's standard set (retrain with ``ops`` empty,
or with ``none`` in it). Their alphas start at exactly 0 (sigmoid 1/2); the supernet here starts
them at 1e-3 N(0, 1), as for every method. FairDARTS published no NAS-Bench-201 search: 'nb201'
takes the same recipe into that space."""

import ml_collections

from darts_jax.spaces import darts_cnn, nb201
from experiments.configs import methods as configs


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg``: comma-separated words. '' is the DARTS space, 'nb201' the NAS-Bench-201 space,
  'quick' shrinks either to the base config's smoke-test size."""
  words, base = configs.parse(arg, ("nb201", "quick"))
  c = base.get_config()
  standard = nb201.NB201_OPS if "nb201" in words else darts_cnn.PRIMITIVES
  c.ops = tuple(op for op in standard if op != "none")  # their PRIMITIVES: no 'none'
  c.method = "fair_darts"
  # --aux_loss_weight 10, --sep_loss l2 (ConvSeparateLoss), --op_threshold 0.85.
  c.method_options = ml_collections.ConfigDict(
      {"zero_one_weight": 10.0, "threshold": 0.85, "form": "l2"})
  c.architect = "first_order"  # their Architect.step: the validation loss's gradient only
  c.step_order = "alphas_first"  # their train(): architect.step, then the weight step
  # train_search.py: 50 epochs, batch 128, SGD lr 0.005 cosine to 0.001, momentum 0.9, weight
  # decay 3e-4, grad clip 5 (their network: C=16, 8 cells).
  c.epochs, c.batch_size = 50, 128
  c.weights.update({"lr": 0.005, "min_lr": 0.001, "momentum": 0.9, "nesterov": False,
                    "weight_decay": 3e-4, "clip_norm": 5.0})
  # train_search.py: Adam lr 3e-3, betas (0.9, 0.999) (--arch_lr_gamma 0.9), weight decay 1e-3.
  c.alphas.update({"lr": 3e-3, "b1": 0.9, "b2": 0.999, "weight_decay": 1e-3})
  if "quick" in words:
    quick = base.get_config("quick")
    c.network, c.epochs, c.batch_size = quick.network, quick.epochs, quick.batch_size
  return c
