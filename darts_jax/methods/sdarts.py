"""SDARTS (Chen & Hsieh, ICML 2020, "Stabilizing Differentiable Architecture Search via
Perturbation-based Regularization"): the weight step trains the supernet at perturbed mixing
weights, which smooths the validation loss in the architecture and (the paper shows) implicitly
penalizes its Hessian. The alpha step is DARTS' own, at the clean softmax.

Two perturbations of the softmaxed weights ``m`` of every edge, both registered here:

- ``sdarts_rs`` (random smoothing): ``m + u`` with ``u ~ U[-eps, eps]`` per entry;
- ``sdarts_adv`` (adversarial): an L-infinity PGD attack on the training loss within
  ``|m' - m| <= eps``: a random start in the ball, ``steps`` ascent steps along the gradient's sign
  of size ``2 eps / steps``, each projected back onto the ball; the attack is dropped (the clean
  ``m`` kept) when it ends below the clean loss.

What the authors' code (xiangning-chen/SmoothDARTS, ``attacker/perturb.py`` and
``sota/cnn/train_search.py``) does, and this file follows:

- the perturbation acts on ``softmax(alpha)``, not on alpha, and every perturbed point is put back
  on the simplex by their ``clip``: clamp each entry to [0, 1], give a row that became all zero a
  one at its largest entry, divide each row by its sum (``clip=False`` skips it);
- ``eps`` grows linearly per epoch, ``0.03 + (epsilon - 0.03) * epoch / epochs`` with their default
  ``--epsilon_alpha 0.3``, for both perturbations (the README's commands leave it at 0.3); pass
  ``epsilon_start=epsilon`` for a constant ``eps``;
- PGD: 7 steps, step size ``2 eps / 7``, random start;
- first-order DARTS for the alphas (their README commands; ``unrolled=False`` in all their runs).

One difference: their attack runs the supernet in eval mode (BatchNorm on running statistics);
here ``loss_of_mixing`` is the search's training-mode loss on the weight step's batch.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from darts_jax import methods
from darts_jax.methods.base import Hyper, Method, Mixing

EPSILON_START = 0.03  # their schedule's first value
EPSILON = 0.3  # their --epsilon_alpha: the schedule's end point
ATTACK_STEPS = 7  # their Linf_PGD_alpha default


def epsilon_schedule(start: float, end: float) -> Callable[[int, int], float]:
  """Their ramp: ``start`` at epoch 0, ``start + (end - start) * epoch / epochs`` after (``end`` is
  approached, not reached, in the last epoch)."""
  return lambda epoch, epochs: start + (end - start) * epoch / max(epochs, 1)


def uniform_noise(mixing: Mixing, key: jax.Array, epsilon) -> Mixing:
  """Independent ``U[-epsilon, epsilon]`` noise shaped like each group of ``mixing``."""
  keys = jax.random.split(key, len(mixing))
  return {label: jax.random.uniform(k, w.shape, w.dtype, -epsilon, epsilon)
          for k, (label, w) in zip(keys, sorted(mixing.items()))}


def clip_to_simplex(weights: jax.Array) -> jax.Array:
  """Their ``clip``: entries clamped to [0, 1], a row left all zero becomes one-hot at its largest
  entry, rows divided by their sums."""
  clamped = jnp.clip(weights, 0.0, 1.0)
  empty = jnp.sum(clamped, -1, keepdims=True) == 0
  hot = jax.nn.one_hot(jnp.argmax(weights, -1), weights.shape[-1], dtype=weights.dtype)
  clamped = jnp.where(empty, hot, clamped)
  return clamped / jnp.sum(clamped, -1, keepdims=True)


def _clip_all(mixing: Mixing, clip: bool) -> Mixing:
  return {label: clip_to_simplex(w) for label, w in mixing.items()} if clip else mixing


def random_smoothing(mixing: Mixing, key: jax.Array, epsilon, *, clip: bool = True) -> Mixing:
  """SDARTS-RS: ``mixing`` plus uniform noise in ``[-epsilon, epsilon]``, back on the simplex."""
  noise = uniform_noise(mixing, key, epsilon)
  return _clip_all({label: w + noise[label] for label, w in mixing.items()}, clip)


def linf_pgd(mixing: Mixing, key: jax.Array, epsilon, loss_of_mixing: Callable[[Mixing], jax.Array],
             *, steps: int = ATTACK_STEPS, random_start: bool = True, clip: bool = True) -> Mixing:
  """SDARTS-ADV: ``steps`` of projected sign-gradient ascent on ``loss_of_mixing`` inside the
  L-infinity ball of radius ``epsilon`` around ``mixing`` (step ``2 epsilon / steps``, a random
  start in the ball); the clean ``mixing`` when the attack ends with a lower loss. Traceable."""
  step_size = 2.0 * epsilon / steps
  start = random_smoothing(mixing, key, epsilon, clip=clip) if random_start else mixing

  def ascend(_, current):
    grads = jax.grad(loss_of_mixing)(current)
    moved = {label: w + step_size * jnp.sign(grads[label]) for label, w in current.items()}
    projected = {label: mixing[label] + jnp.clip(w - mixing[label], -epsilon, epsilon)
                 for label, w in moved.items()}
    return _clip_all(projected, clip)

  attacked = jax.lax.fori_loop(0, steps, ascend, start)
  # Their fallback: keep the clean weights when the attack lowered the loss.
  worse = loss_of_mixing(attacked) >= loss_of_mixing(mixing)
  return jax.tree.map(lambda a, m: jnp.where(worse, a, m), attacked, mixing)


def _options(options) -> tuple[Callable[[int, int], float], bool]:
  if options["epsilon_start"] < 0 or options["epsilon"] < 0:
    raise ValueError("SDARTS' epsilon and epsilon_start must be non-negative")
  return epsilon_schedule(options["epsilon_start"], options["epsilon"]), bool(options["clip"])


@methods.register("sdarts_rs", epsilon=EPSILON, epsilon_start=EPSILON_START, clip=True)
def _sdarts_rs(options) -> Method:
  """SDARTS-RS: the weight step at randomly smoothed mixing weights."""
  schedule, clip = _options(options)

  def perturb(mixing: Mixing, key, hyper: Hyper, loss_of_mixing) -> Mixing:
    del loss_of_mixing
    return random_smoothing(mixing, key, hyper["epsilon"], clip=clip)
  return Method("sdarts_rs", perturb=perturb, schedules={"epsilon": schedule})


@methods.register("sdarts_adv", epsilon=EPSILON, epsilon_start=EPSILON_START, clip=True,
                  steps=ATTACK_STEPS, random_start=True)
def _sdarts_adv(options) -> Method:
  """SDARTS-ADV: the weight step at adversarially (PGD) perturbed mixing weights."""
  schedule, clip = _options(options)
  steps, random_start = int(options["steps"]), bool(options["random_start"])
  if steps < 1:
    raise ValueError(f"SDARTS-ADV needs at least one attack step, not {steps}")

  def perturb(mixing: Mixing, key, hyper: Hyper, loss_of_mixing) -> Mixing:
    return linf_pgd(mixing, key, hyper["epsilon"], loss_of_mixing, steps=steps,
                    random_start=random_start, clip=clip)
  return Method("sdarts_adv", perturb=perturb, schedules={"epsilon": schedule})
