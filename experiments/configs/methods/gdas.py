"""GDAS (Dong & Yang, CVPR 2019): one op per edge sampled by a straight-through Gumbel-softmax,
temperature 10 -> 0.1 (darts_jax/methods/gdas.py), with the authors' search recipes (xautodl,
D-X-Y/AutoDL-Projects) on the embedded digits: ``experiments/configs/default.py``'s network for the
DARTS space, ``nb201_digits.py``'s for NAS-Bench-201; 'cifar10' switches to CIFAR-10 at their
network sizes."""

import ml_collections

from experiments.configs import methods as configs


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg``: comma-separated words. '' is the DARTS space (their ``GDAS-NASNet-CIFAR`` search);
  'nb201' the NAS-Bench-201 space (their NAS-Bench-201 GDAS run); 'cifar10' CIFAR-10 with crop and
  flip and their network (8 cells or N=5, C=16) instead of digits; 'quick' shrinks any of them to
  the base config's smoke-test size."""
  words, base = configs.parse(arg)
  nb201 = "nb201" in words
  c = base.get_config()
  c.method = "gdas"
  # --tau_max 10 --tau_min 0.1 (scripts-search/algos/GDAS.sh and GDAS-search-NASNet-space.sh);
  # sampled: only the sampled op of each edge runs, as their forward_gdas.
  c.method_options = ml_collections.ConfigDict({"tau_max": 10.0, "tau_min": 0.1, "sampled": True})
  c.architect = "first_order"  # GDAS.py: one gradient step of the alphas, no unrolling
  c.step_order = "weights_first"  # GDAS.py search_func: the weight step, then the alpha step
  # --arch_learning_rate 0.0003 --arch_weight_decay 0.001; Adam betas (0.5, 0.999) (GDAS.py).
  c.alphas.update({"lr": 3e-4, "b1": 0.5, "b2": 0.999, "weight_decay": 1e-3})
  # SGD lr 0.025 cosine to 0.001, Nesterov momentum 0.9, weight decay 5e-4 (both of their configs
  # below); GDAS.py clips the weights' gradient norm at 5.
  c.weights.update({"lr": 0.025, "min_lr": 0.001, "momentum": 0.9, "nesterov": True,
                    "weight_decay": 5e-4, "clip_norm": 5.0})
  if nb201:
    c.epochs, c.batch_size = 240, 64  # configs/nas-benchmark/algos/GDAS.config: 240 epochs, batch 64
  else:
    c.epochs, c.batch_size = 250, 256  # configs/search-opts/GDAS-NASNet-CIFAR.config
  if "quick" in words:
    quick = base.get_config("quick")
    c.network, c.data, c.epochs, c.batch_size = quick.network, quick.data, quick.epochs, \
        quick.batch_size
  return c
