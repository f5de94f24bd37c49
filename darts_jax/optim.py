"""The reference's optimizers in optax: SGD with momentum for weights, Adam for alphas.

PyTorch's SGD/Adam ``weight_decay`` is coupled L2 (added to the gradient), so decay is
``add_decayed_weights`` *before* the update rule, never ``adamw``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import optax

# Positions in the weight optimizer's chain (used to read the momentum buffer and step count).
_MOMENTUM, _SCHEDULE = 2, 3


def epoch_cosine(base_lr: float, min_lr: float, epochs: int, steps_per_epoch: int):
  """PyTorch CosineAnnealingLR(T_max=epochs, eta_min=min_lr) stepped once per epoch."""
  def schedule(step):
    epoch = jnp.minimum(step // steps_per_epoch, epochs)
    return min_lr + (base_lr - min_lr) * 0.5 * (1 + jnp.cos(math.pi * epoch / epochs))
  return schedule


def epoch_exponential(base_lr: float, gamma: float, steps_per_epoch: int):
  """PyTorch StepLR(step_size=1, gamma) stepped once per epoch (the DARTS ImageNet recipe, 0.97)."""
  def schedule(step):
    return base_lr * gamma ** (step // steps_per_epoch)
  return schedule


def clip_by_global_norm(max_norm: float) -> optax.GradientTransformation:
  """PyTorch's ``clip_grad_norm_``: scale by ``min(1, max_norm / (norm + 1e-6))``.

  optax's own clip divides by the norm itself; the 1e-6 moved a clipped DARTS weight step by about
  1e-7 of its size against the reference's (golden data, ``tests/golden_test.py``)."""
  def update(updates, state, params=None):
    del params
    coef = jnp.minimum(1.0, max_norm / (optax.tree.norm(updates) + 1e-6))
    return jax.tree.map(lambda g: g * coef.astype(g.dtype), updates), state
  return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def weight_optimizer(schedule, *, momentum: float = 0.9, weight_decay: float = 3e-4,
                     clip_norm: float = 5.0, nesterov: bool = False) -> optax.GradientTransformation:
  """Clip by global norm, coupled weight decay, momentum, learning rate (the reference order).
  ``nesterov`` is PyTorch's Nesterov SGD (NAS-Bench-201's search recipe)."""
  return optax.chain(clip_by_global_norm(clip_norm), optax.add_decayed_weights(weight_decay),
                     optax.trace(decay=momentum, nesterov=nesterov),
                     optax.scale_by_learning_rate(schedule))


def alpha_optimizer(learning_rate: float = 3e-4, *, b1: float = 0.5, b2: float = 0.999,
                    weight_decay: float = 1e-3, clip_norm: float = 0.0
                    ) -> optax.GradientTransformation:
  """Adam with coupled weight decay on the alphas; ``clip_norm`` > 0 clips their gradients by
  global norm first (P-DARTS), as PyTorch's ``clip_grad_norm_`` before ``Adam.step``."""
  clip = [clip_by_global_norm(clip_norm)] if clip_norm else []
  return optax.chain(*clip, optax.add_decayed_weights(weight_decay),
                     optax.adam(learning_rate, b1=b1, b2=b2))


def virtual_step(schedule, opt_state, *, momentum: float, weight_decay: float):
  """One unrolled weight step of the reference architect: w - lr * (momentum * m + g + wd * w).

  Uses the live momentum buffer and learning rate but changes no state (no clipping, as in
  quark0/darts ``_compute_unrolled_model``).
  """
  buffer = opt_state[_MOMENTUM].trace
  lr = schedule(opt_state[_SCHEDULE].count)

  def step(weights, grads):
    return jax.tree.map(lambda w, m, g: w - lr * (momentum * m + g + weight_decay * w),
                        weights, buffer, grads)

  return step


def current_lr(schedule, opt_state) -> jax.Array:
  return schedule(opt_state[_SCHEDULE].count)
