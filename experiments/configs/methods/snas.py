"""SNAS (Xie et al., ICLR 2019): concrete (Gumbel-softmax) mixing weights, temperature 1 -> 0.03,
weights and alphas trained together on the training batches (darts_jax/methods/snas.py), with the
authors' search recipe (SNAS-Series/SNAS-Series, ``SNAS/train_search.py`` and its README command)
on the embedded digits: ``experiments/configs/default.py``'s network for the DARTS space,
``nb201_digits.py``'s for NAS-Bench-201; 'cifar10' switches to CIFAR-10 at their network size.

Their resource constraint is the ``cost`` block: ``--config.cost.weight`` > 0 adds a cost term to the
joint loss (darts_jax/cost/objective.py; its forms, not their log penalty)."""

import ml_collections

from experiments.configs import methods as configs


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg``: comma-separated words. '' is the DARTS space (their search, 150 epochs); 'nb201' the
  NAS-Bench-201 space (no recipe of theirs: NAS-Bench-201's search recipe, 50 epochs, with SNAS'
  temperature and joint step); 'cifar10' CIFAR-10 with crop and flip and the recipe's network (8
  cells or N=5, C=16) instead of digits; 'quick' shrinks any of them to the base config's
  smoke-test size."""
  words, base = configs.parse(arg)
  nb201 = "nb201" in words
  c = base.get_config()
  c.method = "snas"
  # README: --temp 1 --temp_min 0.03 --temp_annealing (utils.Temp_Scheduler, linear).
  c.method_options = ml_collections.ConfigDict({"temp_init": 1.0, "temp_min": 0.03})
  c.architect = "first_order"  # unused: the joint step takes one gradient of one loss
  if nb201:
    # NAS-Bench-201's search recipe (experiments/configs/nb201_cifar10.py): 50 epochs, batch 64,
    # SGD lr 0.025 cosine to 0.001, Nesterov momentum 0.9, weight decay 5e-4, grad clip 5;
    # Adam lr 3e-4, betas (0.5, 0.999), weight decay 1e-3.
    c.epochs, c.batch_size = 50, 64
    c.weights.update({"lr": 0.025, "min_lr": 0.001, "momentum": 0.9, "nesterov": True,
                      "weight_decay": 5e-4, "clip_norm": 5.0})
  else:
    # train_search.py defaults and README: --epochs 150, batch 64, SGD lr 0.025 cosine to 0.001,
    # momentum 0.9, weight decay 3e-4, grad clip 5.
    c.epochs, c.batch_size = 150, 64
    c.weights.update({"lr": 0.025, "min_lr": 0.001, "momentum": 0.9, "nesterov": False,
                      "weight_decay": 3e-4, "clip_norm": 5.0})
  # train_search.py's arch optimizer (its distributed branch; the single-GPU branch uses plain SGD
  # at the same rate): Adam lr 3e-4, betas (0.5, 0.999), weight decay 1e-3.
  c.alphas.update({"lr": 3e-4, "b1": 0.5, "b2": 0.999, "weight_decay": 1e-3})
  if "quick" in words:
    quick = base.get_config("quick")
    c.network, c.data, c.epochs, c.batch_size = quick.network, quick.data, quick.epochs, \
        quick.batch_size
  return c
