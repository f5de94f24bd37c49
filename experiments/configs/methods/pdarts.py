"""P-DARTS (Chen et al., ICCV 2019): three stages of growing depth (5 -> 11 -> 17 cells), ops per
edge cut 8 -> 5 -> 3, decaying dropout on skip connections, at most 2 skip connections in the final
normal cell (darts_jax/methods/pdarts.py), with the authors' CIFAR-10 search recipe
(chenxin061/pdarts ``train_search.py`` and its README command) on the embedded digits:
``experiments/configs/default.py``'s data for the DARTS space, ``nb201_digits.py``'s for
NAS-Bench-201; 'cifar10' switches to CIFAR-10 at their network width. ``epochs`` is per stage."""

import ml_collections

from experiments.configs import methods as configs


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg``: comma-separated words. '' is the DARTS space (their ``train_search.py``); 'nb201' the
  NAS-Bench-201 space (NAS-Bench-201's optimizers with P-DARTS' stages: the authors published no
  NAS-Bench-201 recipe); 'cifar10' CIFAR-10 with crop and flip and C=16 instead of digits; 'quick'
  shrinks any of them to a smoke test (one epoch per stage, small networks, no warm-up)."""
  words, base = configs.parse(arg)
  nb201 = "nb201" in words
  c = base.get_config()
  c.method = "pdarts"
  # --layers 5 --add_layers 6 --add_layers 12 (README); num_to_drop = [3, 2, 2] of the 8 DARTS ops;
  # --dropout_rate 0.1 --dropout_rate 0.4 --dropout_rate 0.7 (README's CIFAR-10 command; the
  # paper's Sec. 4.2 gives 0.0 for the first stage); eps_no_archs = [10, 10, 10]; the paper's
  # M = 2 skip connections. On NAS-Bench-201 the depths are 3N + 2 cells (N = 1, 3, 5) and its 5
  # ops are cut 5 -> 4 -> 3 (our choice, as DARTS' 8 -> 5 -> 3 keeps 3 per edge in the end).
  c.method_options = ml_collections.ConfigDict({
      "depths": (5, 11, 17), "ops_per_stage": (5, 4, 3) if nb201 else (8, 5, 3),
      "skip_dropout": (0.1, 0.4, 0.7), "warmup_epochs": 10, "max_skips": 2, "stage": 0,
      "kept_ops": ""})
  c.architect = "first_order"  # train_search.py: one gradient step of the alphas, no unrolling
  c.step_order = "alphas_first"  # train(): optimizer_a.step(), then the weight step
  # --arch_learning_rate 6e-4 --arch_weight_decay 1e-3, Adam betas (0.5, 0.999); train() clips the
  # alpha gradients as the weights' (clip_grad_norm_(arch_parameters(), args.grad_clip), 5).
  c.alphas.update({"lr": 6e-4, "b1": 0.5, "b2": 0.999, "weight_decay": 1e-3, "clip_norm": 5.0})
  c.epochs = 25  # --epochs 25, per stage
  if nb201:
    # NAS-Bench-201's optimizers (nb201_cifar10.py): batch 64, Nesterov SGD 0.025 cosine to
    # 0.001, weight decay 5e-4, grad clip 5.
    c.batch_size = 64
    c.weights.update({"lr": 0.025, "min_lr": 0.001, "momentum": 0.9, "nesterov": True,
                      "weight_decay": 5e-4, "clip_norm": 5.0})
  else:
    # --batch_size 96, SGD --learning_rate 0.025 cosine to --learning_rate_min 0.0, momentum 0.9,
    # --weight_decay 3e-4, --grad_clip 5, --init_channels 16 (the 'cifar10' network).
    c.batch_size = 96
    c.weights.update({"lr": 0.025, "min_lr": 0.0, "momentum": 0.9, "nesterov": False,
                      "weight_decay": 3e-4, "clip_norm": 5.0})
  if "quick" in words:
    quick = base.get_config("quick")
    c.network, c.data, c.epochs, c.batch_size = quick.network, quick.data, quick.epochs, \
        quick.batch_size
    c.method_options.depths = (5, 5, 8) if nb201 else (3, 4, 5)
    c.method_options.warmup_epochs = 0
  return c
