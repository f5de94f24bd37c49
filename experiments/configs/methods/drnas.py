"""DrNAS (Chen et al., ICLR 2021): Dirichlet mixing weights, concentration elu(alpha) + 1, an L2
pull toward the uniform prior (darts_jax/methods/drnas.py), with the authors' search recipes
(xiangning-chen/DrNAS) on the embedded digits: ``experiments/configs/default.py``'s network for the
DARTS space, ``nb201_digits.py``'s for NAS-Bench-201. Their progressive partial channels are left
out, so their DARTS-space supernet (C=36, 20 cells, affordable only at 1/6 of the channels per op)
is not the size to copy; the data and network sizes stay the digits configs'."""

import ml_collections

from experiments.configs import methods as configs


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg``: comma-separated words. '' is the DARTS space (their ``DARTS-space/train_search.py``);
  'nb201' the NAS-Bench-201 space (their ``201-space/train_search.py``, the search without the
  progressive scheme); 'quick' shrinks either to the base config's smoke-test size."""
  words, base = configs.parse(arg, ("nb201", "quick"))
  c = base.get_config()
  c.method = "drnas"
  c.architect = "first_order"  # their --unrolled is off by default
  c.step_order = "alphas_first"  # their train(): architect.step, then the weight step
  # Their --reg_type l2 --reg_scale 1e-3 (defaults in both train_search.py).
  c.method_options = ml_collections.ConfigDict(
      {"reg_type": "l2", "reg_scale": 1e-3, "warmup_epochs": 0})
  # Their Architect gives Adam weight_decay=reg_scale in place of --arch_weight_decay: the method's
  # l2 penalty carries it, so no second weight decay here. Adam betas (0.5, 0.999) (architect.py).
  c.alphas.update({"b1": 0.5, "b2": 0.999, "weight_decay": 0.0})
  if "nb201" in words:
    # 201-space/train_search.py: 100 epochs, batch 64, SGD lr 0.025 cosine to 0.001, momentum 0.9
    # (not Nesterov), weight decay 3e-4, grad clip 5; Adam lr 3e-4; alphas from the first epoch
    # (its `if epoch >= 15` is commented out). Their network: C=16, N=5.
    c.epochs, c.batch_size = 100, 64
    c.weights.update({"lr": 0.025, "min_lr": 0.001, "momentum": 0.9, "nesterov": False,
                      "weight_decay": 3e-4, "clip_norm": 5.0})
    c.alphas.lr = 3e-4
  else:
    # DARTS-space/train_search.py: 25 + 25 epochs, batch 64, SGD lr 0.1 cosine to 0, momentum 0.9,
    # weight decay 3e-4, grad clip 5; Adam lr 6e-4; alphas frozen for the first 10 epochs
    # (`if epoch >= 10`; they restart that warm-up in their second, progressive stage).
    c.epochs, c.batch_size = 50, 64
    c.weights.update({"lr": 0.1, "min_lr": 0.0, "momentum": 0.9, "nesterov": False,
                      "weight_decay": 3e-4, "clip_norm": 5.0})
    c.alphas.lr = 6e-4
    c.method_options.warmup_epochs = 10
  if "quick" in words:
    quick = base.get_config("quick")
    c.network, c.epochs, c.batch_size = quick.network, quick.epochs, quick.batch_size
    c.method_options.warmup_epochs = 0  # a smoke test trains the alphas from its first step
  return c
