"""β-DARTS (Ye et al., CVPR 2022): first-order DARTS plus the Beta-Decay regularizer
``mean_edges logsumexp(alpha)`` weighted ``50 * epoch / epochs`` (darts_jax/methods/beta_darts.py),
with the authors' search recipes (Sunshine-Ye/Beta-DARTS) on the embedded digits:
``experiments/configs/default.py``'s network for the DARTS space, ``nb201_digits.py``'s for
NAS-Bench-201."""

import ml_collections

from experiments.configs import methods as configs


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg``: comma-separated words. '' is the DARTS space (their ``sota/cnn/train_search.py``),
  'nb201' the NAS-Bench-201 space (their ``nasbench201/train_search.py``, the README's command),
  'quick' shrinks either to the base config's smoke-test size."""
  words, base = configs.parse(arg, ("nb201", "quick"))
  c = base.get_config()
  c.method = "beta_darts"
  # architect.py `_backward_step`: weights = 0 + 50*epoch/100 over their 100 epochs.
  c.method_options = ml_collections.ConfigDict({"weight": 50.0})
  c.architect = "first_order"  # --unrolled off in their scripts
  c.step_order = "alphas_first"  # their train(): architect.step, then the weight step
  # Both train_search.py: batch 64, SGD lr 0.025 cosine to 0.001, momentum 0.9, weight decay 3e-4,
  # grad clip 5; Adam lr 3e-4, betas (0.5, 0.999), weight decay 1e-3. Epochs: 100 for
  # NAS-Bench-201 (C=16, N=5), 50 for the DARTS space (C=16, 8 cells).
  c.epochs, c.batch_size = (100 if "nb201" in words else 50), 64
  c.weights.update({"lr": 0.025, "min_lr": 0.001, "momentum": 0.9, "nesterov": False,
                    "weight_decay": 3e-4, "clip_norm": 5.0})
  c.alphas.update({"lr": 3e-4, "b1": 0.5, "b2": 0.999, "weight_decay": 1e-3})
  if "quick" in words:
    quick = base.get_config("quick")
    c.network, c.epochs, c.batch_size = quick.network, quick.epochs, quick.batch_size
  return c
