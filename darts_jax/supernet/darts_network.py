"""DARTS CNN networks: one macro skeleton, filled with search cells (supernet) or fixed cells."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from darts_jax import genotypes, ops
from darts_jax.spaces.darts_cnn import DartsCNN
from darts_jax.supernet import arch, mixed, staging


@dataclasses.dataclass(frozen=True)
class CellPlan:
  """Channel counts and kind of one cell in the stack."""

  prev_prev_channels: int
  prev_channels: int
  channels: int
  reduction: bool
  reduction_prev: bool

  @property
  def label(self) -> str:
    return "reduce" if self.reduction else "normal"


class DropPath(NamedTuple):
  """Per-call drop-path randomness: a PRNG key and the current rate (a traced scalar: the rate
  ramps over training without retracing)."""

  key: jax.Array
  rate: jax.Array


def cell_plans(channels: int, layers: int, *, stem_channels: int, multiplier: int = 4,
               reduce_multiplier: int | None = None, reduction_prev: bool = False) -> list[CellPlan]:
  """Reduction cells at 1/3 and 2/3 depth double the channels; a cell outputs its multiplier times
  C: ``multiplier`` for normal cells, ``reduce_multiplier`` (default the same) for reduction cells,
  each its own concat length, as the reference's ``cell.multiplier``.

  ``reduction_prev`` says the stem's two outputs differ in resolution (the ImageNet stems)."""
  reduce_multiplier = multiplier if reduce_multiplier is None else reduce_multiplier
  c_prev_prev = c_prev = stem_channels
  c, plans = channels, []
  for i in range(layers):
    reduction = i in (layers // 3, 2 * layers // 3)
    c = 2 * c if reduction else c
    plans.append(CellPlan(c_prev_prev, c_prev, c, reduction, reduction_prev))
    c_prev_prev, c_prev = c_prev, (reduce_multiplier if reduction else multiplier) * c
    reduction_prev = reduction
  return plans


class CifarStem(nnx.Module):
  """Conv 3x3 -> BN; both cell inputs of the first cell are its output."""

  def __init__(self, in_channels: int, out_channels: int, *, rngs: nnx.Rngs):
    self.conv = ops.conv(in_channels, out_channels, 3, padding=1, rngs=rngs)
    self.bn = ops.batch_norm(out_channels, affine=True, rngs=rngs)

  def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    s = self.bn(self.conv(x))
    return s, s


class ImageNetStem(nnx.Module):
  """The reference's two ImageNet stems: 224 -> 56 (s0) and 56 -> 28 (s1), all convs 3x3 stride 2."""

  def __init__(self, in_channels: int, channels: int, *, rngs: nnx.Rngs):
    self.conv0a = ops.conv(in_channels, channels // 2, 3, stride=2, padding=1, rngs=rngs)
    self.bn0a = ops.batch_norm(channels // 2, affine=True, rngs=rngs)
    self.conv0b = ops.conv(channels // 2, channels, 3, stride=2, padding=1, rngs=rngs)
    self.bn0b = ops.batch_norm(channels, affine=True, rngs=rngs)
    self.conv1 = ops.conv(channels, channels, 3, stride=2, padding=1, rngs=rngs)
    self.bn1 = ops.batch_norm(channels, affine=True, rngs=rngs)

  def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    s0 = self.bn0b(self.conv0b(jax.nn.relu(self.bn0a(self.conv0a(x)))))
    return s0, self.bn1(self.conv1(jax.nn.relu(s0)))


class AuxiliaryHead(nnx.Module):
  """The auxiliary classifier at 2/3 depth: ReLU, 5x5 average pool, conv 1x1 -> 128 -> BN -> ReLU,
  conv 2x2 -> 768 [-> BN] -> ReLU, global average, linear. CIFAR (8x8 maps): pool stride 3, with the
  second BN; ImageNet (7x7 maps): pool stride 2, without it (quark0/darts ``model.py`` comments that
  BN out: its paper's ImageNet runs went without it)."""

  def __init__(self, in_channels: int, num_classes: int, *, pool_stride: int,
               second_batchnorm: bool = True, rngs: nnx.Rngs):
    self.pool_stride = pool_stride
    self.conv1 = ops.conv(in_channels, 128, 1, rngs=rngs)
    self.bn1 = ops.batch_norm(128, affine=True, rngs=rngs)
    self.conv2 = ops.conv(128, 768, 2, rngs=rngs)
    self.bn2 = ops.batch_norm(768, affine=True, rngs=rngs) if second_batchnorm else None
    self.classifier = ops.linear(768, num_classes, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    smallest = 5 + self.pool_stride  # the 2x2 conv needs a pooled map of at least 2x2
    if min(x.shape[1:3]) < smallest:
      raise ValueError(f"the auxiliary head needs feature maps of at least {smallest}x{smallest} at "
                       f"2/3 depth, got "
                       f"{x.shape[1]}x{x.shape[2]}; use larger images or --config.auxiliary_weight=0")
    window, strides = (1, 5, 5, 1), (1, self.pool_stride, self.pool_stride, 1)
    x = jax.lax.reduce_window(jax.nn.relu(x), 0.0, jax.lax.add, window, strides, "VALID") / 25.0
    x = jax.nn.relu(self.bn1(self.conv1(x)))
    x = self.conv2(x)
    x = jax.nn.relu(x if self.bn2 is None else self.bn2(x))
    return self.classifier(x.mean(axis=(1, 2)))


class Preprocess(nnx.Module):
  """Maps both cell inputs to C channels at the input-1 resolution (FactorizedReduce after a reduction)."""

  def __init__(self, plan: CellPlan, *, affine: bool, rngs: nnx.Rngs):
    c = plan.channels
    if plan.reduction_prev:
      self.input0 = ops.FactorizedReduce(plan.prev_prev_channels, c, affine=affine, rngs=rngs)
    else:
      self.input0 = ops.ReLUConvBN(plan.prev_prev_channels, c, 1, 1, 0, affine=affine, rngs=rngs)
    self.input1 = ops.ReLUConvBN(plan.prev_channels, c, 1, 1, 0, affine=affine, rngs=rngs)

  def __call__(self, s0: jax.Array, s1: jax.Array) -> tuple[jax.Array, jax.Array]:
    return self.input0(s0), self.input1(s1)


def edge_stages(steps: int, reduction: bool) -> list[tuple[staging.Edge, ...]]:
  """A DARTS cell's edge stages: 4 edges each in normal cells; in reduction cells the strided input
  edges first (they cannot share a group with stride-1 node edges), then 2 each."""
  edges = [(node, source) for node in range(steps) for source in range(node + 2)]
  if not reduction:
    return staging.edge_stages(edges, num_inputs=2, size=4)
  inputs = tuple(e for e in edges if e[1] < 2)
  return [inputs] + staging.edge_stages([e for e in edges if e[1] >= 2], num_inputs=2, size=2)


class SearchCell(nnx.Module):
  """A DARTS search cell: preprocessing, then its edges in the stages of ``edge_stages``.

  ``pool_batchnorm`` follows every pool candidate (an op named ``*pool*``) with a non-affine
  BatchNorm, as the reference search cell does."""

  def __init__(self, space: DartsCNN, plan: CellPlan, *, pool_batchnorm: bool = True,
               save_marked: bool = True, rngs: nnx.Rngs, **edge_options):
    """``edge_options``: the mixed ops' static options (``staging.StagedEdges``)."""
    self.label = plan.label
    self.multiplier = space.multiplier
    self.preprocess = Preprocess(plan, affine=False, rngs=rngs)
    self.edges = staging.StagedEdges(
        space.op_names, plan.channels, edge_stages(space.steps, plan.reduction),
        lambda e: space.edge_index(*e), num_inputs=2,
        stride=lambda e: 2 if plan.reduction and e[1] < 2 else 1,
        batchnorm_after=tuple(n for n in space.op_names if pool_batchnorm and "pool" in n),
        save_marked=save_marked, rngs=rngs, **edge_options)

  def __call__(self, s0: jax.Array, s1: jax.Array, weights) -> jax.Array:
    """``weights``: this cell type's relaxed alphas, ``[edges, ops]`` (or a ``mixed`` wrapper)."""
    nodes = self.edges(self.preprocess(s0, s1), weights)
    return jnp.concatenate(nodes[-self.multiplier:], axis=-1)


class FixedCell(nnx.Module):
  """A discrete DARTS cell: node k sums ``op(state[input])`` over its two genotype edges."""

  def __init__(self, edges: tuple[genotypes.Edge, ...], concat: tuple[int, ...], plan: CellPlan, *,
               rngs: nnx.Rngs):
    self.label = plan.label
    self.preprocess = Preprocess(plan, affine=True, rngs=rngs)
    self.inputs = tuple(source for _, source in edges)
    self.concat = tuple(concat)
    self.ops = nnx.List([
        ops.get(name)(plan.channels, 2 if plan.reduction and source < 2 else 1, affine=True,
                      rngs=rngs) for name, source in edges])

  def __call__(self, s0: jax.Array, s1: jax.Array, weights: jax.Array | None = None, *,
               drop_path: DropPath | None = None) -> jax.Array:
    """``drop_path`` (training only) drops each non-identity edge's output per example."""
    del weights
    states = list(self.preprocess(s0, s1))
    keys = None if drop_path is None else jax.random.split(drop_path.key, len(self.ops))
    outputs = []
    for k, (op, source) in enumerate(zip(self.ops, self.inputs)):
      h = op(states[source])
      if keys is not None and not isinstance(op, ops.Identity):
        h = ops.drop_path(h, keys[k], drop_path.rate)
      outputs.append(h)
      if k % 2:
        states.append(outputs[-2] + outputs[-1])
    return jnp.concatenate([states[i] for i in self.concat], axis=-1)


def _run_cell(cell, s0, s1, weights, drop_path):
  if drop_path is None:
    return cell(s0, s1, weights)
  return cell(s0, s1, weights, drop_path=drop_path)


class DartsNetwork(nnx.Module):
  """Stem -> cells -> global average pool -> linear classifier, with an optional auxiliary head
  on the output of the cell at 2/3 depth."""

  def __init__(self, stem: nnx.Module, cells: list[nnx.Module], *, in_channels: int,
               out_channels: int, num_classes: int, auxiliary_head: nnx.Module | None = None,
               remat: bool = False, rngs: nnx.Rngs):
    self.in_channels = in_channels
    self.remat = remat
    self.stem = stem
    self.cells = nnx.List(cells)
    self.auxiliary_head = auxiliary_head
    self.auxiliary_index = 2 * len(cells) // 3
    self.classifier = ops.linear(out_channels, num_classes, rngs=rngs)

  def __call__(self, x: jax.Array, mixing: dict[str, jax.Array] | None = None, *,
               drop_path: DropPath | None = None, with_auxiliary: bool = False):
    """Logits; ``(logits, auxiliary_logits)`` when ``with_auxiliary`` (training only)."""
    if x.ndim != 4 or x.shape[-1] != self.in_channels:
      raise ValueError(f"expected NHWC images with {self.in_channels} channels, got shape {x.shape}")
    if with_auxiliary and self.auxiliary_head is None:
      raise ValueError("this network was built without an auxiliary head (auxiliary=False)")
    s0, s1 = self.stem(x)
    run_cell = nnx.remat(_run_cell) if self.remat else _run_cell
    keys = None if drop_path is None else jax.random.split(drop_path.key, len(self.cells))
    auxiliary_logits = None
    for i, cell in enumerate(self.cells):
      cell_drop = None if keys is None else DropPath(keys[i], drop_path.rate)
      weights = None if mixing is None else mixed.for_cell(mixing[cell.label], i)
      s0, s1 = s1, run_cell(cell, s0, s1, weights, cell_drop)
      if with_auxiliary and i == self.auxiliary_index:
        auxiliary_logits = self.auxiliary_head(s1)
    logits = self.classifier(s1.mean(axis=(1, 2)))
    return (logits, auxiliary_logits) if with_auxiliary else logits


class DartsSupernet(arch.DefaultMixing, DartsNetwork):
  """The DARTS search network; its alphas (one ``[edges, ops]`` group per cell type) are ArchParams.

  ``pool_batchnorm=False`` leaves the pools' outputs unnormalized (a deviation from the reference,
  for ablations). ``recompute``: what the backward pass recomputes (``mixed.RECOMPUTE``);
  ``remat=True`` is the "cell" policy.

  Static options of the mixed ops (``mixed.MixedOp``; the defaults build the DARTS supernet):
  ``partial_channels`` (the ops see 1/K of the channels), ``auxiliary_skip`` (a skip beside every
  mixture, scaled by the coefficient in ``mixed.EdgeMixing``), ``kept_ops`` (``{label: per alpha
  row, the op indices the edge keeps}``; the other ops are neither built nor computed there).
  ``edge_normalization`` adds an ``edges_<label>`` ArchParam of one logit per edge beside each
  alpha group; the edge weights the network multiplies by arrive in ``mixed.EdgeMixing``."""

  def __init__(self, space: DartsCNN, *, channels: int = 16, layers: int = 8,
               num_classes: int = 10, in_channels: int = 3, stem_multiplier: int = 3,
               pool_batchnorm: bool = True, recompute: str = "auto", remat: bool = False,
               partial_channels: int = 1, edge_normalization: bool = False,
               auxiliary_skip: bool = False, kept_ops=None, rngs: nnx.Rngs):
    recompute = "cell" if remat else mixed.resolve_recompute(recompute)
    stem_channels = stem_multiplier * channels
    plans = cell_plans(channels, layers, stem_channels=stem_channels, multiplier=space.multiplier)
    options = lambda plan: dict(
        partial_channels=partial_channels, auxiliary_skip=auxiliary_skip,
        kept_ops=None if kept_ops is None else kept_ops[plan.label])
    super().__init__(CifarStem(in_channels, stem_channels, rngs=rngs),
                     [SearchCell(space, plan, pool_batchnorm=pool_batchnorm,
                                 save_marked=recompute == "ops", rngs=rngs, **options(plan))
                      for plan in plans],
                     in_channels=in_channels, out_channels=space.multiplier * plans[-1].channels,
                     num_classes=num_classes, remat=recompute == "cell", rngs=rngs)
    self.alphas = arch.init_alphas(space, rngs)
    if edge_normalization:
      mixed.init_edge_alphas(self.alphas, rngs)


# The evaluation settings of the reference: CIFAR (stem 3C, 20 cells, C=36) and ImageNet mobile
# (two strided stems, 14 cells, C=48).
SETTINGS = {"cifar": {"channels": 36, "layers": 20}, "imagenet": {"channels": 48, "layers": 14}}


def fixed_network(genotype: genotypes.DartsGenotype, space: DartsCNN | None = None, *,
                  setting: str = "cifar", channels: int | None = None, layers: int | None = None,
                  num_classes: int = 10, in_channels: int = 3, auxiliary: bool = False,
                  rngs: nnx.Rngs) -> DartsNetwork:
  """The discrete network of a DARTS genotype, built from the same op factories (``affine=True``).

  ``setting`` picks the stem and the default size; ``auxiliary`` adds the auxiliary head."""
  if setting not in SETTINGS:
    raise ValueError(f"unknown DARTS network setting {setting!r}; expected one of {sorted(SETTINGS)}")
  space = space or DartsCNN()
  space.validate(genotype)
  channels = channels or SETTINGS[setting]["channels"]
  layers = layers or SETTINGS[setting]["layers"]
  multipliers = {"multiplier": len(genotype.normal_concat),
                 "reduce_multiplier": len(genotype.reduce_concat)}
  if setting == "cifar":
    stem = CifarStem(in_channels, 3 * channels, rngs=rngs)
    plans = cell_plans(channels, layers, stem_channels=3 * channels, **multipliers)
  else:
    stem = ImageNetStem(in_channels, channels, rngs=rngs)
    plans = cell_plans(channels, layers, stem_channels=channels, reduction_prev=True, **multipliers)
  out = lambda plan: len(genotype.reduce_concat if plan.reduction else genotype.normal_concat) * (
      plan.channels)
  cells = [FixedCell(genotype.reduce if p.reduction else genotype.normal,
                     genotype.reduce_concat if p.reduction else genotype.normal_concat, p, rngs=rngs)
           for p in plans]
  head = None
  if auxiliary:
    head = AuxiliaryHead(out(plans[2 * layers // 3]), num_classes,
                         pool_stride=3 if setting == "cifar" else 2,
                         second_batchnorm=setting == "cifar", rngs=rngs)
  return DartsNetwork(stem, cells, in_channels=in_channels, out_channels=out(plans[-1]),
                      num_classes=num_classes,
                      auxiliary_head=head, rngs=rngs)
