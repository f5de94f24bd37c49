"""Bilevel optimizers ("architects"): how the alpha gradient is computed from train and val batches.

Every architect is a pure function with one signature::

    hypergradient(loss_fn, arch, weights, train_batch, val_batch, *, virtual_step)
        -> (alpha_gradient, (val_loss, val_aux))

``loss_fn(arch, weights, batch) -> (loss, aux)``; ``virtual_step(weights, weight_grads) -> weights'``
is one step of the real weight optimizer (momentum and weight decay included, no state change), which
second-order methods unroll. First-order methods ignore it.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

Hypergradient = Callable[..., tuple]


def first_order(loss_fn, arch, weights, train_batch, val_batch, *, virtual_step=None):
  """DARTS first order: the gradient of the validation loss w.r.t. alphas at the current weights."""
  del train_batch, virtual_step
  (loss, aux), grads = jax.value_and_grad(lambda a: loss_fn(a, weights, val_batch),
                                         has_aux=True)(arch)
  return grads, (loss, aux)


def _unrolled_val_grads(loss_fn, arch, weights, train_batch, val_batch, virtual_step):
  """What both second-order methods share: at w' = virtual_step(w, dL_train/dw), the direct term
  dL_val/dalpha, and dL_val/dw' pulled back through the virtual step to the train gradient
  (-xi * dL_val/dw' for plain SGD; the step is linear in the gradient, so any linearization point
  gives it exactly). Returns ``(dL_val/dalpha, pulled-back direction, (val_loss, val_aux))``."""
  train_grads = jax.grad(lambda w: loss_fn(arch, w, train_batch)[0])(weights)
  unrolled = virtual_step(weights, train_grads)
  (loss, aux), (grad_arch, grad_unrolled) = jax.value_and_grad(
      loss_fn, argnums=(0, 1), has_aux=True)(arch, unrolled, val_batch)
  _, step_pullback = jax.vjp(lambda g: virtual_step(weights, g), train_grads)
  return grad_arch, step_pullback(grad_unrolled)[0], (loss, aux)


def second_order(loss_fn, arch, weights, train_batch, val_batch, *, virtual_step):
  """Exact DARTS second order: d/dalpha L_val(w'(alpha), alpha), w' = virtual_step(w, dL_train/dw).

  The dependence of w' on alpha runs through dL_train/dw only, so the hypergradient is
  dL_val/dalpha + (d^2 L_train / dalpha dw) . u, with u = dL_val/dw' pulled back through the
  virtual step (momentum, weight decay and any optimizer transform handled exactly). The mixed
  term is the alpha gradient of L_train's directional derivative along u (reverse over forward):
  it keeps one forward's activations and tangents, where differentiating the weight gradient
  (reverse over reverse) kept a whole backward pass.
  """
  grad_arch, direction, val = _unrolled_val_grads(loss_fn, arch, weights, train_batch, val_batch,
                                                  virtual_step)

  def directional_derivative(a):
    return jax.jvp(lambda w: loss_fn(a, w, train_batch)[0], (weights,), (direction,))[1]

  indirect = jax.grad(directional_derivative)(arch)
  return jax.tree.map(jnp.add, grad_arch, indirect), val


def second_order_fd(loss_fn, arch, weights, train_batch, val_batch, *, virtual_step,
                    epsilon: float = 0.01):
  """The DARTS paper's approximation: the mixed second derivative by a central difference around
  the current weights, with step ``epsilon / ||v||`` (quark0/darts ``architect.py``; matches its
  recorded values to 1e-10, ``tests/golden_test.py``)."""
  # A central difference amplifies rounding by 1/radius: its matmuls run at full float32 precision
  # whatever the run's default (TF32 on GPUs would swamp the difference).
  with jax.default_matmul_precision("highest"):
    return _second_order_fd(loss_fn, arch, weights, train_batch, val_batch, virtual_step, epsilon)


def _second_order_fd(loss_fn, arch, weights, train_batch, val_batch, virtual_step, epsilon):
  grad_arch, direction, val = _unrolled_val_grads(loss_fn, arch, weights, train_batch, val_batch,
                                                  virtual_step)
  norm = optax.tree.norm(direction)
  radius = jnp.where(norm > 0, epsilon / jnp.where(norm > 0, norm, 1.0), 0.0)  # 0: no mixed term

  def train_alpha_grad(sign):
    shifted = jax.tree.map(lambda w, d: w + sign * radius * d, weights, direction)
    return jax.grad(lambda a: loss_fn(a, shifted, train_batch)[0])(arch)

  plus, minus = train_alpha_grad(1.0), train_alpha_grad(-1.0)
  indirect = jax.tree.map(lambda p, m: jnp.where(radius > 0, (p - m) / (2 * radius + (radius == 0)),
                                                  0.0), plus, minus)
  return jax.tree.map(jnp.add, grad_arch, indirect), val


_ARCHITECTS: dict[str, Hypergradient] = {
    "first_order": first_order,
    "second_order": second_order,
    "second_order_fd": second_order_fd,
}


def get(name: str) -> Hypergradient:
  """The architect registered as ``name``."""
  try:
    return _ARCHITECTS[name]
  except KeyError:
    raise ValueError(f"unknown architect {name!r}; choose one of {sorted(_ARCHITECTS)}") from None


def names() -> list[str]:
  return sorted(_ARCHITECTS)
