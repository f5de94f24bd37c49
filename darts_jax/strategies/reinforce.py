"""REINFORCE: a controller of one categorical per decision, trained by policy gradient."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax


def _log_prob(logits: jax.Array, arch: jax.Array) -> jax.Array:
  return jnp.take_along_axis(jax.nn.log_softmax(logits), arch[:, None], axis=1).sum()


@functools.cache
def _trainer(learning_rate: float):
  """Adam and its jitted policy-gradient step, built once per learning rate (no retracing per seed)."""
  optimizer = optax.adam(learning_rate)

  @jax.jit
  def update(logits, opt_state, arch, advantage):
    grads = jax.grad(lambda l: -advantage * _log_prob(l, arch))(logits)
    updates, opt_state = optimizer.update(grads, opt_state, logits)
    return optax.apply_updates(logits, updates), opt_state

  return optimizer, update


@jax.jit
def _sample(key, logits):
  key, sub = jax.random.split(key)
  return key, jax.random.categorical(sub, logits)


class Reinforce:
  """Williams' REINFORCE with a bias-corrected moving-average reward baseline, as NAS-Bench-201's
  reference (logits init 1e-3 N(0, 1), Adam lr 1e-3, EMA momentum 0.9); needs equal cardinalities."""

  def __init__(self, encoding, *, seed: int, learning_rate: float = 1e-3,
               ema_momentum: float = 0.9):
    sizes = set(encoding.cardinalities)
    if len(sizes) != 1:
      raise ValueError(f"REINFORCE needs decisions of one size, got {encoding.cardinalities}")
    self.encoding, self.ema_momentum = encoding, ema_momentum
    init_key, self._key = jax.random.split(jax.random.key(seed))
    self.logits = 1e-3 * jax.random.normal(init_key, (len(encoding.cardinalities), sizes.pop()))
    optimizer, self._update = _trainer(learning_rate)
    self._opt_state = optimizer.init(self.logits)
    self._ema, self._ema_weight = 0.0, 0.0

  @property
  def baseline(self) -> float:
    return self._ema / self._ema_weight

  def ask(self):
    self._key, arch = _sample(self._key, self.logits)
    return tuple(int(a) for a in arch)

  def tell(self, arch, score: float) -> None:
    m = self.ema_momentum
    self._ema, self._ema_weight = m * self._ema + (1 - m) * score, m * self._ema_weight + (1 - m)
    self.logits, self._opt_state = self._update(self.logits, self._opt_state, jnp.asarray(arch),
                                                score - self.baseline)

  def probabilities(self) -> jax.Array:
    return jax.nn.softmax(self.logits)
