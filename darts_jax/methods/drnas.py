"""DrNAS (Chen, Wang, Cheng, Tang & Hsieh, ICLR 2021, "DrNAS: Dirichlet Neural Architecture
Search"): each edge's mixing weights are a draw from a Dirichlet whose concentration the alphas
parameterize; the alphas descend the validation loss at a reparameterized draw (pathwise gradient)
plus a regularizer that keeps the Dirichlet near its uniform prior.

What this file does, each part as the authors' code (xiangning-chen/DrNAS) does it:

- concentration ``beta = elu(alpha) + 1`` (``utils.process_step_vector``: ``Dirichlet(F.elu(x) +
  1).rsample()``): positive, 1 at ``alpha = 0`` (the uniform prior), smooth in alpha;
- mixing weights ``w ~ Dirichlet(beta)`` per edge, a fresh draw every step (the alpha step and the
  weight step draw their own). ``jax.random.dirichlet`` normalizes Gamma(beta) draws, whose
  gradient in ``beta`` is the implicit reparameterization one (Figurnov et al., 2018), the
  pathwise derivative the paper relies on;
- the regularizer toward the prior ``Dirichlet(1)`` (``--reg_type``, ``--reg_scale``, defaults
  ``l2`` and ``1e-3`` in ``train_search.py``; ``model_search.py: _get_kl_reg``):
  * ``l2``: ``reg_scale / 2 * sum(alpha ** 2)``. Their ``Architect`` passes ``reg_scale`` to Adam
    as the alphas' (coupled) weight decay, which adds ``reg_scale * alpha`` to the gradient: the
    gradient of this term. Its anchor ``alpha = 0`` is the prior's ``beta = 1``. The configs set
    ``alphas.weight_decay = 0`` so that it is not counted twice (their ``Architect`` replaces the
    arch weight decay with it; under ``kl`` they use none either);
  * ``kl``: ``reg_scale * sum_edges KL(Dirichlet(beta) || Dirichlet(1))`` in closed form;
- the genotype from the Dirichlet mean ``beta / sum(beta)`` (the paper and README select "by
  Dirichlet mean") with the space's rule. Their ``genotype()`` parses ``softmax(alpha)`` instead:
  per edge the same argmax (``elu + 1`` and ``exp`` are both increasing), so NAS-Bench-201 cells
  are identical; the DARTS rule's ranking of a node's inputs can differ;
- ``warmup_epochs``: alphas frozen for the first epochs (their DARTS-space ``train_search.py``:
  ``if epoch >= 10: architect.step(...)``; 0 in their NAS-Bench-201 ``train_search.py``).

Left out: the progressive scheme (partial channels ``k`` 6 -> 4 on DARTS, 4 -> 2 on NAS-Bench-201,
with op pruning and a restarted warm-up between two stages); partial channels are built elsewhere
(``Method.network``), and the two stages would be a ``driver``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import digamma, gammaln

from darts_jax import methods, relaxations
from darts_jax.methods.base import Hyper, Method, Mixing, after_warmup

REG_TYPES = ("l2", "kl")
REG_SCALE = 1e-3  # their --reg_scale default ("proper for l2")


def concentration(alphas: jax.Array) -> jax.Array:
  """The Dirichlet concentration of each edge: ``elu(alpha) + 1`` (> 0; 1 at alpha = 0)."""
  return jax.nn.elu(alphas) + 1.0


def dirichlet_mean(alphas: jax.Array) -> jax.Array:
  """``E[w] = beta / sum(beta)`` per edge: the weights the genotype is parsed from."""
  beta = concentration(alphas)
  return beta / jnp.sum(beta, axis=-1, keepdims=True)


def dirichlet_sample(alphas: jax.Array, key: jax.Array) -> jax.Array:
  """One reparameterized draw ``w ~ Dirichlet(elu(alpha) + 1)`` per edge (rows of ``alphas``),
  differentiable in ``alphas``."""
  if key is None:
    raise ValueError("DrNAS' relaxation draws from a Dirichlet and needs a PRNG key")
  return jax.random.dirichlet(key, concentration(alphas), dtype=alphas.dtype)


def relax(alphas: Mixing, key: jax.Array, hyper: Hyper | None = None) -> Mixing:
  """Independent draws for every alpha group (one key each, split in sorted label order)."""
  del hyper
  return relaxations.apply(dirichlet_sample, alphas, key)


def expected(alphas: Mixing, hyper: Hyper | None = None) -> Mixing:
  del hyper
  return {label: dirichlet_mean(a) for label, a in alphas.items()}


def kl_to_uniform(alphas: jax.Array) -> jax.Array:
  """``KL(Dirichlet(beta) || Dirichlet(1, ..., 1))`` of each edge (shape ``alphas.shape[:-1]``):
  ``lnG(b0) - sum lnG(b_i) - lnG(K) + sum (b_i - 1)(psi(b_i) - psi(b0))`` with ``b0 = sum b_i``,
  ``K`` ops (``lnG(1) = 0``)."""
  beta = concentration(alphas)
  total = jnp.sum(beta, axis=-1)
  ops = alphas.shape[-1]
  return (gammaln(total) - jnp.sum(gammaln(beta), axis=-1) - gammaln(jnp.asarray(ops, beta.dtype))
          + jnp.sum((beta - 1.0) * (digamma(beta) - digamma(total)[..., None]), axis=-1))


def l2_penalty(alphas: Mixing, scale: float) -> jax.Array:
  """``scale / 2 * sum(alpha ** 2)`` over every group: gradient ``scale * alpha``, Adam's coupled
  weight decay ``scale`` in their ``Architect``."""
  return 0.5 * scale * sum(jnp.sum(jnp.square(a)) for a in alphas.values())


def kl_penalty(alphas: Mixing, scale: float) -> jax.Array:
  """``scale * sum_edges KL(Dirichlet(beta) || Dirichlet(1))`` over every group (their
  ``_get_kl_reg``)."""
  return scale * sum(jnp.sum(kl_to_uniform(a)) for a in alphas.values())


@methods.register("drnas", reg_type="l2", reg_scale=REG_SCALE, warmup_epochs=0)
def _drnas(options) -> Method:
  """DrNAS: Dirichlet mixing weights by pathwise gradients, regularized toward the uniform prior."""
  reg_type, scale = str(options["reg_type"]), float(options["reg_scale"])
  if reg_type not in REG_TYPES:
    raise ValueError(f"DrNAS' reg_type must be one of {REG_TYPES}, not {reg_type!r}")
  if scale < 0:
    raise ValueError(f"DrNAS' reg_scale must be non-negative, not {scale}")
  penalty = l2_penalty if reg_type == "l2" else kl_penalty
  warmup = int(options["warmup_epochs"])
  return Method(
      "drnas", relax=relax, expected=expected,
      alpha_penalty=(lambda alphas, mixing, hyper: penalty(alphas, scale)) if scale else None,
      schedules={"train_alphas": after_warmup(warmup)} if warmup else {})
