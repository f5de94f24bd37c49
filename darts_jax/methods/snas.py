"""SNAS (Xie, Zheng, Liu & Lin, ICLR 2019, "SNAS: Stochastic Neural Architecture Search"): every
edge mixes its ops by a concrete (Gumbel-softmax) sample of its alphas,

    w = softmax((alpha + g) / tau),  g ~ Gumbel(0, 1) per entry,

with the temperature ``tau`` annealed over the epochs, and the weights and the alphas descend one
training-batch loss together (``Method(joint=True)``: ``search.make_joint_step``). The genotype is
parsed from ``softmax(alpha)``, the sample's mode.

What the authors' code (SNAS-Series/SNAS-Series, ``SNAS/``) does, and this file follows:

- ``model_search.py`` ``_get_categ_mask``: ``softmax((log_alpha - log(-log u)) / temp)``, one sample
  per forward pass shared by every cell of a type (here: per label, a fresh key per step);
- ``utils.py`` ``Temp_Scheduler`` with the README's ``--temp 1 --temp_min 0.03 --temp_annealing``:
  ``temp = temp_min + (temp - temp_min) * (1 - e / epochs)``, stepped once before each epoch's
  training, so epoch ``e`` (from 0) trains at ``e + 1``: from ``1 - 0.97 / epochs`` in the first
  epoch down to exactly 0.03 in the last (``temperature``);
- ``train_search.py``: one ``backward`` of the training loss, then the weight and the alpha
  optimizers step on the same batch.

The resource constraint (their ``--resource_efficient``) is the config's ``cost`` block
(``darts_jax.cost.objective``), added to the joint loss: its gradient reaches only the alphas.
Not here: their log-penalty form, the alphas' grad-norm clip at 10, drop-path in the search net.
"""

from __future__ import annotations

from collections.abc import Callable

import jax

from darts_jax import methods, relaxations
from darts_jax.methods.base import Hyper, Method, Mixing, softmax_all

TEMP_INIT = 1.0  # the README's --temp 1
TEMP_MIN = 0.03  # the README's --temp_min 0.03


def gumbel_softmax(alphas: jax.Array, key: jax.Array, tau) -> jax.Array:
  """A concrete sample ``softmax((alphas + g) / tau)``, ``g`` standard Gumbel noise per entry."""
  gumbel = jax.random.gumbel(key, alphas.shape, alphas.dtype)
  return jax.nn.softmax((alphas + gumbel) / tau, axis=-1)


def temperature(start: float, end: float) -> Callable[[int, int], float]:
  """Their ``Temp_Scheduler``: epoch ``e`` of ``epochs`` at ``end + (start - end) * (1 - (e + 1) /
  epochs)``, never below ``end``."""
  return lambda epoch, epochs: max(end, end + (start - end) * (1 - (epoch + 1) / max(epochs, 1)))


def concrete(alphas: Mixing, key: jax.Array, hyper: Hyper) -> Mixing:
  """Every label's concrete sample at temperature ``hyper['tau']``, independent noise per label."""
  if key is None:
    raise ValueError("SNAS samples its mixing weights: the relaxation needs a PRNG key")
  return relaxations.apply(lambda a, k: gumbel_softmax(a, k, hyper["tau"]), alphas, key)


@methods.register("snas", temp_init=TEMP_INIT, temp_min=TEMP_MIN)
def snas(options) -> Method:
  return Method("snas", relax=concrete, expected=lambda alphas, hyper: softmax_all(alphas),
                schedules={"tau": temperature(options["temp_init"], options["temp_min"])},
                joint=True)
