"""Architecture parameters of a supernet: initialization and their default relaxation."""

from __future__ import annotations

import jax
from flax import nnx

from darts_jax import relaxations
from darts_jax.variables import ArchParam


def init_alphas(space, rngs: nnx.Rngs, scale: float = 1e-3) -> nnx.Dict:
  """One ArchParam per label of the space, ``scale * N(0, 1)`` as in the DARTS reference."""
  return nnx.Dict({label: ArchParam(scale * jax.random.normal(rngs.params(), shape))
                   for label, shape in space.alpha_shapes().items()})


def softmax_mixing(alphas: nnx.Dict) -> dict[str, jax.Array]:
  """The DARTS mixing weights of a supernet's own alphas."""
  return relaxations.apply(relaxations.softmax, {label: a[...] for label, a in alphas.items()})


class DefaultMixing:
  """Mixin for supernets: called without ``mixing``, a network mixes by the softmax of its alphas."""

  def __call__(self, x: jax.Array, mixing: dict[str, jax.Array] | None = None) -> jax.Array:
    """``mixing``: relaxed alphas per label; by default the softmax of this network's alphas."""
    return super().__call__(x, softmax_mixing(self.alphas) if mixing is None else mixing)
