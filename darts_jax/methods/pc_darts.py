"""PC-DARTS (Xu, Xie, Zhang, Chen, Qi, Tian & Xiong, ICLR 2020, "PC-DARTS: Partial Channel
Connections for Memory-Efficient Architecture Search"): each mixed op sees only 1/K of its input's
channels, and every edge's output is scaled by an edge-normalization weight, a softmax over the
edges that enter the same node, which also ranks the edges when the genotype is parsed.

What the authors' code (yuhuixu1993/PC-DARTS, ``model_search.py`` and ``train_search.py``) does,
and this file follows:

- partial channels, K = 4: the ops see the first ``C/4`` channels; the other channels bypass them
  (max-pooled 2x2 on strided edges), are concatenated after the ops' weighted sum, and the result is
  channel-shuffled with 4 groups (``MixedOp.forward``, ``channel_shuffle``). The network builds this
  from the static option ``partial_channels`` (``darts_jax.supernet.mixed.MixedOp``);
- edge normalization: one logit per edge (``betas_normal``/``betas_reduce``, initialized
  ``1e-3 * randn``), an ArchParam group ``edges_<label>`` beside the op alphas (the network's option
  ``edge_normalization``); node ``i``'s incoming edges get ``softmax(betas[start:start + n])``
  (``Network.forward``: ``weights2``), and every edge's output (the shuffled partial-channel sum)
  is multiplied by its edge weight;
- the genotype from ``softmax(alpha) * edge_weight`` per edge (``genotype()``: ``_parse(weights,
  weights2)`` multiplies each row by its edge weight before the DARTS rule ranks the inputs);
- weights-only warm-up: the alphas (and betas) step only from epoch 15 (``if epoch >= 15:
  architect.step(...)``), as the ``train_alphas`` schedule.

The nodes' incoming edges are consecutive alpha rows in both cell spaces: a DARTS node ``i`` has
``i + 2`` inputs, a NAS-Bench-201 node ``j`` has ``j``. ``node_sizes`` recovers them from the number
of edges alone: ``n, n + 1, ...`` summing to it with the smallest ``n`` (a DARTS cell's count
``s (s + 3) / 2`` is never triangular, so the two spaces never collide).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from darts_jax import methods, relaxations
from darts_jax.methods.base import Hyper, Method, Mixing, after_warmup
from darts_jax.supernet import mixed

PARTIAL_CHANNELS = 4  # model_search.py: C // 4 channels through the ops, channel_shuffle(ans, 4)
WARMUP_EPOCHS = 15  # train_search.py: `if epoch >= 15: architect.step(...)`


def node_sizes(num_edges: int) -> tuple[int, ...]:
  """The incoming-edge counts of a cell's nodes, in alpha-row order: ``n, n + 1, ..., n + s - 1``
  summing to ``num_edges``, for the smallest ``n`` (1: NAS-Bench-201; 2: DARTS)."""
  for first in range(1, num_edges + 1):
    sizes, total = [], 0
    while total < num_edges:
      sizes.append(first + len(sizes))
      total += sizes[-1]
    if total == num_edges:
      return tuple(sizes)
  raise ValueError(f"no cell has {num_edges} edges")  # unreachable: n = num_edges always fits


def edge_weights(betas: jax.Array) -> jax.Array:
  """``[edges]`` edge-normalization weights: a softmax over each node's incoming edges."""
  parts, start = [], 0
  for size in node_sizes(betas.shape[-1]):
    parts.append(jax.nn.softmax(betas[..., start:start + size], axis=-1))
    start += size
  return jnp.concatenate(parts, axis=-1)


def _op_labels(alphas: Mixing) -> list[str]:
  return [label for label in alphas if not label.startswith(mixed.EDGE_ALPHAS_PREFIX)]


def relax(alphas: Mixing, key=None, hyper: Hyper | None = None) -> Mixing:
  """Each op group's softmax; with its ``edges_<label>`` group, wrapped in ``mixed.EdgeMixing``
  with the edge weights the network multiplies every edge's output by."""
  del key, hyper
  mixing = {}
  for label in _op_labels(alphas):
    weights = relaxations.softmax(alphas[label])
    betas = alphas.get(mixed.edge_alphas_label(label))
    mixing[label] = weights if betas is None else mixed.EdgeMixing(
        weights, edge_weights=edge_weights(betas))
  return mixing


def expected(alphas: Mixing, hyper: Hyper | None = None) -> Mixing:
  """``softmax(alpha) * edge_weight`` per edge row: what their ``genotype()`` parses."""
  del hyper
  mixing = {}
  for label in _op_labels(alphas):
    weights = relaxations.softmax(alphas[label])
    betas = alphas.get(mixed.edge_alphas_label(label))
    mixing[label] = weights if betas is None else weights * edge_weights(betas)[..., None]
  return mixing


@methods.register("pc_darts", partial_channels=PARTIAL_CHANNELS, edge_normalization=True,
                  warmup_epochs=WARMUP_EPOCHS)
def _pc_darts(options) -> Method:
  """PC-DARTS: partial channels and edge normalization (both static network options), a
  weights-only warm-up."""
  k, warmup = int(options["partial_channels"]), int(options["warmup_epochs"])
  if k < 1:
    raise ValueError(f"PC-DARTS' partial_channels must be at least 1, not {k}")
  return Method("pc_darts", relax=relax, expected=expected,
                schedules={"train_alphas": after_warmup(warmup)} if warmup else {},
                network={"partial_channels": k,
                         "edge_normalization": bool(options["edge_normalization"])})

