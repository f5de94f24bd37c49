"""DARTS- (Chu et al., ICLR 2021): an auxiliary skip connection beside every mixed op, its
coefficient decaying linearly from 1 (darts_jax/methods/darts_minus.py). The paper keeps DARTS'
search settings and adds only the auxiliary skip; the authors' code (Meituan-AutoML/DARTS-) runs it first order. On the embedded digits:
``experiments/configs/default.py``'s network for the DARTS space, ``nb201_digits.py``'s for
NAS-Bench-201; 'cifar10' switches to CIFAR-10 at the papers' network sizes."""

import ml_collections

from experiments.configs import methods as configs


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg``: comma-separated words. '' is the DARTS space (quark0/darts ``train_search.py``'s
  recipe, as the paper); 'nb201' the NAS-Bench-201 space (NAS-Bench-201's search protocol, which
  the paper's NAS-Bench-201 experiments follow); 'cifar10' CIFAR-10 with crop and flip and the
  papers' network (8 cells or N=5, C=16) instead of digits; 'quick' shrinks any of them to the
  base config's smoke-test size."""
  words, base = configs.parse(arg)
  nb201 = "nb201" in words
  c = base.get_config()
  c.method = "darts_minus"
  # Their DecayScheduler(base_lr=1.0, decay_type='linear'): beta = (epochs - epoch) / epochs.
  c.method_options = ml_collections.ConfigDict({"beta_start": 1.0})
  c.architect = "first_order"  # their search scripts: --unrolled off
  # Adam 3e-4, betas (0.5, 0.999), weight decay 1e-3: DARTS' and NAS-Bench-201's alpha optimizer.
  c.alphas.update({"lr": 3e-4, "b1": 0.5, "b2": 0.999, "weight_decay": 1e-3})
  c.epochs, c.batch_size = 50, 64  # DARTS and NAS-Bench-201: 50 epochs, batch 64
  if nb201:
    # NAS-Bench-201's protocol (nb201_cifar10.py): Nesterov SGD 0.025 cosine to 0.001, weight
    # decay 5e-4, grad clip 5, the weight step first.
    c.step_order = "weights_first"
    c.weights.update({"lr": 0.025, "min_lr": 0.001, "momentum": 0.9, "nesterov": True,
                      "weight_decay": 5e-4, "clip_norm": 5.0})
  else:
    # quark0/darts train_search.py: SGD 0.025 cosine to 0.001, momentum 0.9, weight decay 3e-4,
    # grad clip 5; the alpha step first.
    c.step_order = "alphas_first"
    c.weights.update({"lr": 0.025, "min_lr": 0.001, "momentum": 0.9, "nesterov": False,
                      "weight_decay": 3e-4, "clip_norm": 5.0})
  if "quick" in words:
    quick = base.get_config("quick")
    c.network, c.data, c.epochs, c.batch_size = quick.network, quick.data, quick.epochs, \
        quick.batch_size
  return c
