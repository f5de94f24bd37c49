"""PC-DARTS (Xu et al., ICLR 2020): partial channels K=4 with a channel shuffle, edge
normalization, a 15-epoch weights-only warm-up (darts_jax/methods/pc_darts.py), with the authors'
CIFAR-10 search recipe (yuhuixu1993/PC-DARTS ``train_search.py``) on the embedded digits:
``experiments/configs/default.py``'s network for the DARTS space, ``nb201_digits.py``'s for
NAS-Bench-201; 'cifar10' switches to CIFAR-10 at their network sizes."""

import ml_collections

from experiments.configs import methods as configs


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg``: comma-separated words. '' is the DARTS space (their ``train_search.py``); 'nb201' the
  NAS-Bench-201 space (NAS-Bench-201's search protocol with PC-DARTS' parts: the authors published
  no NAS-Bench-201 recipe); 'cifar10' CIFAR-10 with crop and flip and their network (8 cells or
  N=5, C=16) instead of digits; 'quick' shrinks any of them to the base config's smoke-test size
  and trains the alphas from the first step."""
  words, base = configs.parse(arg)
  nb201 = "nb201" in words
  c = base.get_config()
  c.method = "pc_darts"
  # model_search.py: C // 4 channels through the ops and channel_shuffle(ans, 4); betas for edge
  # normalization; train_search.py: `if epoch >= 15: architect.step(...)`.
  c.method_options = ml_collections.ConfigDict(
      {"partial_channels": 4, "edge_normalization": True, "warmup_epochs": 15})
  c.architect = "first_order"  # train_search.py: --unrolled off by default (their results)
  c.step_order = "alphas_first"  # train(): architect.step, then the weight step
  # --arch_learning_rate 6e-4 --arch_weight_decay 1e-3; Adam betas (0.5, 0.999) (architect.py).
  c.alphas.update({"lr": 6e-4, "b1": 0.5, "b2": 0.999, "weight_decay": 1e-3})
  if nb201:
    # NAS-Bench-201's protocol (nb201_cifar10.py): 50 epochs, batch 64, Nesterov SGD 0.025 cosine
    # to 0.001, weight decay 5e-4, the weight step first; the warm-up keeps PC-DARTS' 15 of 50.
    c.epochs, c.batch_size = 50, 64
    c.step_order = "weights_first"
    c.weights.update({"lr": 0.025, "min_lr": 0.001, "momentum": 0.9, "nesterov": True,
                      "weight_decay": 5e-4, "clip_norm": 5.0})
  else:
    # train_search.py: 50 epochs, --batch_size 256, SGD --learning_rate 0.1 cosine to
    # --learning_rate_min 0.0, momentum 0.9, --weight_decay 3e-4, --grad_clip 5 (the 1/4 channels
    # let the batch grow from DARTS' 64 to 256 and the lr from 0.025 to 0.1).
    c.epochs, c.batch_size = 50, 256
    c.weights.update({"lr": 0.1, "min_lr": 0.0, "momentum": 0.9, "nesterov": False,
                      "weight_decay": 3e-4, "clip_norm": 5.0})
  if "quick" in words:
    quick = base.get_config("quick")
    c.network, c.data, c.epochs, c.batch_size = quick.network, quick.data, quick.epochs, \
        quick.batch_size
    c.method_options.warmup_epochs = 0  # a smoke test trains the alphas from its first step
  return c
