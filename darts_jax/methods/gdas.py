"""GDAS (Dong & Yang, CVPR 2019, "Searching for A Robust Neural Architecture in Four GPU Hours"):
every edge computes one op, sampled by the Gumbel-max trick from its alphas, and the alphas learn
through a straight-through Gumbel-softmax:

    soft = softmax((alpha + g) / tau),  hard = one_hot(argmax soft),
    w = soft + stop_gradient(hard - soft)   (value: hard; gradient: soft's),

with ``tau`` linear from 10 to 0.1 over the epochs. Bilevel and first order as DARTS (weights on
the training half, alphas on the validation half); the genotype is parsed from ``softmax(alpha)``.

What the authors' code (D-X-Y/AutoDL-Projects, xautodl) does, and this file follows:

- ``search_model_gdas.py``: ``hardwts = one_h - probs.detach() + probs`` with
  ``probs = softmax((log_softmax(alpha) + gumbels) / tau)`` (the log-softmax shifts each row by a
  constant: the same sample), one sample per forward pass for every cell;
- ``search_cells.py`` ``forward_gdas``: only the sampled op runs; each unsampled op adds its (zero)
  weight, so it still gets a gradient (``sampled=True``: ``darts_jax.supernet.mixed.Sampled``;
  ``sampled=False`` computes every op and mixes by ``w``, the plain straight-through estimator);
- ``exps/NAS-Bench-201-algos/GDAS.py``: ``tau = tau_max - (tau_max - tau_min) * epoch / (epochs -
  1)``, the weight step before the alpha step, ``--tau_max 10 --tau_min 0.1``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from darts_jax import methods, relaxations
from darts_jax.methods.base import Hyper, Method, Mixing, linear, softmax_all
from darts_jax.methods.snas import gumbel_softmax
from darts_jax.supernet.mixed import Sampled

TAU_MAX = 10.0  # xautodl's GDAS scripts: --tau_max 10
TAU_MIN = 0.1  # --tau_min 0.1


def straight_through(soft: jax.Array) -> jax.Array:
  """The one-hot of ``soft``'s largest entry in value, ``soft``'s gradient in the backward pass."""
  hard = jax.nn.one_hot(jnp.argmax(soft, axis=-1), soft.shape[-1], dtype=soft.dtype)
  return soft + jax.lax.stop_gradient(hard - soft)


def hard_gumbel_softmax(alphas: jax.Array, key: jax.Array, tau) -> jax.Array:
  """A straight-through Gumbel-softmax sample: one-hot per row, the concrete sample's gradient."""
  return straight_through(gumbel_softmax(alphas, key, tau))


def sample(alphas: Mixing, key: jax.Array, hyper: Hyper, *, sampled: bool = True) -> Mixing:
  """Every label's hard sample at temperature ``hyper['tau']`` (independent noise per label);
  ``sampled`` wraps them as ``Sampled`` so each edge computes only its sampled op."""
  if key is None:
    raise ValueError("GDAS samples its mixing weights: the relaxation needs a PRNG key")
  mixing = relaxations.apply(lambda a, k: hard_gumbel_softmax(a, k, hyper["tau"]), alphas, key)
  return {label: Sampled(w) for label, w in mixing.items()} if sampled else mixing


@methods.register("gdas", tau_max=TAU_MAX, tau_min=TAU_MIN, sampled=True)
def gdas(options) -> Method:
  sampled = bool(options["sampled"])
  return Method("gdas", relax=lambda alphas, key, hyper: sample(alphas, key, hyper,
                                                                sampled=sampled),
                expected=lambda alphas, hyper: softmax_all(alphas),
                schedules={"tau": linear(options["tau_max"], options["tau_min"])})
