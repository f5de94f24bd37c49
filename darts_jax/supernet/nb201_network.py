"""NAS-Bench-201 networks: stem, 3 stages of N cells joined by residual reduction blocks, classifier."""

from __future__ import annotations

import jax
from flax import nnx

from darts_jax import genotypes, ops
from darts_jax.spaces.nb201 import NB201
from darts_jax.supernet import arch, mixed, staging


class ResidualReduction(nnx.Module):
  """The NAS-Bench-201 residual block between stages: two ReLU-Conv-BN 3x3 (the first strided)
  plus a 2x2 average-pool + 1x1 conv shortcut."""

  def __init__(self, in_channels: int, out_channels: int, *, rngs: nnx.Rngs):
    self.conv_a = ops.ReLUConvBN(in_channels, out_channels, 3, 2, 1, affine=True, rngs=rngs)
    self.conv_b = ops.ReLUConvBN(out_channels, out_channels, 3, 1, 1, affine=True, rngs=rngs)
    self.shortcut = ops.conv(in_channels, out_channels, 1, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    n, h, w, c = x.shape
    pooled = x[:, :h // 2 * 2, :w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))
    return self.shortcut(pooled) + self.conv_b(self.conv_a(x))


class SearchCell(nnx.Module):
  """Node j = sum over i < j of a mixed op on node i, the edges run in stages of 2 (``staging``)."""

  def __init__(self, space: NB201, channels: int, *, save_marked: bool = True, rngs: nnx.Rngs,
               **edge_options):
    """``edge_options``: the mixed ops' static options (``staging.StagedEdges``)."""
    self.label = "cell"
    # staging numbers nodes after the input: NB201 node j is staged node j - 1.
    edges = [(j - 1, i) for j in range(1, space.num_nodes) for i in range(j)]
    self.edges = staging.StagedEdges(
        space.op_names, channels, staging.edge_stages(edges, num_inputs=1, size=2),
        lambda e: space.edge_index(e[0] + 1, e[1]), num_inputs=1, stride=lambda e: 1,
        save_marked=save_marked, rngs=rngs, **edge_options)

  def __call__(self, x: jax.Array, weights) -> jax.Array:
    return self.edges([x], weights)[-1]


class FixedCell(nnx.Module):
  """A discrete NAS-Bench-201 cell: every edge i -> j applies its genotype op."""

  def __init__(self, genotype: genotypes.NB201Genotype, channels: int, *, rngs: nnx.Rngs):
    self.label = "cell"
    self.sources = tuple(tuple(i for _, i in node) for node in genotype.nodes)
    self.ops = nnx.List([nnx.List([ops.get(op)(channels, 1, affine=True, rngs=rngs)
                                   for op, _ in node]) for node in genotype.nodes])

  def __call__(self, x: jax.Array, weights: jax.Array | None = None) -> jax.Array:
    del weights
    nodes = [x]
    for node_ops, sources in zip(self.ops, self.sources):
      nodes.append(sum(op(nodes[i]) for op, i in zip(node_ops, sources)))
    return nodes[-1]


class NB201Network(nnx.Module):
  """Stem conv 3x3 -> [N cells, reduction] x 2 -> N cells -> BN-ReLU -> pool -> classifier."""

  def __init__(self, make_cell, *, channels: int, cells_per_stage: int, num_classes: int,
               in_channels: int, rngs: nnx.Rngs):
    self.in_channels = in_channels
    self.stem_conv = ops.conv(in_channels, channels, 3, padding=1, rngs=rngs)
    self.stem_bn = ops.batch_norm(channels, affine=True, rngs=rngs)
    layers, c = [], channels
    for stage in range(3):
      if stage:
        layers.append(ResidualReduction(c, 2 * c, rngs=rngs))
        c *= 2
      layers.extend(make_cell(c) for _ in range(cells_per_stage))
    self.layers = nnx.List(layers)
    self.last_bn = ops.batch_norm(c, affine=True, rngs=rngs)
    self.classifier = ops.linear(c, num_classes, rngs=rngs)

  def __call__(self, x: jax.Array, mixing: dict[str, jax.Array] | None = None) -> jax.Array:
    if x.ndim != 4 or x.shape[-1] != self.in_channels:
      raise ValueError(f"expected NHWC images with {self.in_channels} channels, got shape {x.shape}")
    x = self.stem_bn(self.stem_conv(x))
    for i, layer in enumerate(self.layers):
      if isinstance(layer, ResidualReduction):
        x = layer(x)
      else:
        x = layer(x, None if mixing is None else mixed.for_cell(mixing[layer.label], i))
    return self.classifier(jax.nn.relu(self.last_bn(x)).mean(axis=(1, 2)))


class NB201Supernet(arch.DefaultMixing, NB201Network):
  """The NAS-Bench-201 search network (C=16, N=5 in the benchmark's protocol); alphas are ArchParams.

  ``partial_channels``, ``edge_normalization``, ``auxiliary_skip`` and ``kept_ops``: the static
  options of ``darts_network.DartsSupernet`` (``kept_ops`` under the label ``cell``)."""

  def __init__(self, space: NB201, *, channels: int = 16, cells_per_stage: int = 5,
               num_classes: int = 10, in_channels: int = 3, recompute: str = "auto",
               partial_channels: int = 1, edge_normalization: bool = False,
               auxiliary_skip: bool = False, kept_ops=None, rngs: nnx.Rngs):
    recompute = mixed.resolve_recompute(recompute)
    if recompute == "cell":
      raise ValueError("the NAS-Bench-201 supernet recomputes per op or not at all: set "
                       "--config.network.recompute to 'ops' or 'none'")
    options = dict(partial_channels=partial_channels, auxiliary_skip=auxiliary_skip,
                   kept_ops=None if kept_ops is None else kept_ops["cell"])
    super().__init__(lambda c: SearchCell(space, c, save_marked=recompute == "ops", rngs=rngs,
                                          **options),
                     channels=channels,
                     cells_per_stage=cells_per_stage, num_classes=num_classes,
                     in_channels=in_channels, rngs=rngs)
    self.alphas = arch.init_alphas(space, rngs)
    if edge_normalization:
      mixed.init_edge_alphas(self.alphas, rngs)


def fixed_network(genotype: genotypes.NB201Genotype, space: NB201 | None = None, *,
                  channels: int = 16, cells_per_stage: int = 5, num_classes: int = 10,
                  in_channels: int = 3, rngs: nnx.Rngs) -> NB201Network:
  """The discrete NAS-Bench-201 network of a genotype (``affine=True`` ops)."""
  (space or NB201()).validate(genotype)
  return NB201Network(lambda c: FixedCell(genotype, c, rngs=rngs), channels=channels,
                      cells_per_stage=cells_per_stage, num_classes=num_classes,
                      in_channels=in_channels, rngs=rngs)
