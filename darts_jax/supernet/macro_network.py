"""Macro-space networks: stem -> chain of inverted-residual blocks -> 1x1 head -> classifier, the blocks
mixed over their candidates (supernet) or fixed by a genotype."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from darts_jax import ops
from darts_jax.spaces.macro import MBCONV_OPS, Macro, MacroGenotype, block_op
from darts_jax.supernet import arch


class InvertedResidual(nnx.Module):
  """MobileNetV2 block: 1x1 expand -> BN-ReLU6 -> k x k depthwise (strided) -> BN-ReLU6 -> 1x1
  project -> BN, plus the input when the shapes agree."""

  def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int, kernel: int,
               *, affine: bool, rngs: nnx.Rngs):
    hidden = in_channels * expansion
    self.expand = ops.conv(in_channels, hidden, 1, rngs=rngs)
    self.expand_bn = ops.batch_norm(hidden, affine=affine, rngs=rngs)
    self.depthwise = ops.conv(hidden, hidden, kernel, stride=stride, padding=kernel // 2,
                              groups=hidden, rngs=rngs)
    self.depthwise_bn = ops.batch_norm(hidden, affine=affine, rngs=rngs)
    self.project = ops.conv(hidden, out_channels, 1, rngs=rngs)
    self.project_bn = ops.batch_norm(out_channels, affine=affine, rngs=rngs)
    self.residual = stride == 1 and in_channels == out_channels

  def __call__(self, x: jax.Array) -> jax.Array:
    h = jax.nn.relu6(self.expand_bn(self.expand(x)))
    h = jax.nn.relu6(self.depthwise_bn(self.depthwise(h)))
    h = self.project_bn(self.project(h))
    return x + h if self.residual else h


def block(name: str, in_channels: int, out_channels: int, stride: int, *, affine: bool,
          rngs: nnx.Rngs) -> nnx.Module:
  """The block an op name stands for: ``skip`` (identity) or an ``mb<e>_k<k>`` inverted residual."""
  if name == "skip":
    return ops.Identity()
  expansion, kernel = block_op(name)
  return InvertedResidual(in_channels, out_channels, stride, expansion, kernel, affine=affine,
                          rngs=rngs)


class MixedBlock(nnx.Module):
  """``sum_k w[k] * candidate_k(x)`` over the six inverted residuals (and ``skip`` when allowed)."""

  def __init__(self, candidates: tuple[str, ...], in_channels: int, out_channels: int, stride: int,
               *, rngs: nnx.Rngs):
    self.candidates = nnx.List([block(name, in_channels, out_channels, stride, affine=False,
                                      rngs=rngs) for name in candidates])

  def __call__(self, x: jax.Array, weights: jax.Array) -> jax.Array:
    return sum(weights[k].astype(x.dtype) * op(x) for k, op in enumerate(self.candidates))


def layout(space: Macro, stem_channels: int) -> list[tuple[int, int, int]]:
  """``(in_channels, out_channels, stride)`` of every block in network order."""
  blocks, channels = [], stem_channels
  for out_channels, count, stride in space.stages:
    for b in range(count):
      blocks.append((channels, out_channels, stride if b == 0 else 1))
      channels = out_channels
  return blocks


class MacroNetwork(nnx.Module):
  """Conv 3x3 stem -> blocks -> conv 1x1 head -> global average pool -> linear classifier."""

  def __init__(self, space: Macro, blocks: list[nnx.Module], *, stem_channels: int,
               head_channels: int, num_classes: int, in_channels: int, rngs: nnx.Rngs):
    self.in_channels = in_channels
    self.rows = tuple(space.rows())
    self.stem = ops.conv(in_channels, stem_channels, 3, padding=1, rngs=rngs)
    self.stem_bn = ops.batch_norm(stem_channels, affine=True, rngs=rngs)
    self.blocks = nnx.List(blocks)
    self.head = ops.conv(space.stages[-1][0], head_channels, 1, rngs=rngs)
    self.head_bn = ops.batch_norm(head_channels, affine=True, rngs=rngs)
    self.classifier = nnx.Linear(head_channels, num_classes, rngs=rngs)

  def __call__(self, x: jax.Array, mixing: dict[str, jax.Array] | None = None) -> jax.Array:
    if x.ndim != 4 or x.shape[-1] != self.in_channels:
      raise ValueError(f"expected NHWC images with {self.in_channels} channels, got shape {x.shape}")
    x = jax.nn.relu6(self.stem_bn(self.stem(x)))
    for layer, (label, row) in zip(self.blocks, self.rows):
      x = layer(x) if mixing is None else layer(x, mixing[label][row])
    x = jax.nn.relu6(self.head_bn(self.head(x)))
    return self.classifier(jnp.mean(x, axis=(1, 2)))


class MacroSupernet(arch.DefaultMixing, MacroNetwork):
  """The macro search network; alphas ``first`` and ``blocks`` are ArchParams."""

  def __init__(self, space: Macro, *, stem_channels: int = 32, head_channels: int = 1280,
               num_classes: int = 10, in_channels: int = 3, rngs: nnx.Rngs):
    first = set(space.first_blocks())
    blocks = [MixedBlock(MBCONV_OPS if i in first else space.op_names, *shape, rngs=rngs)
              for i, shape in enumerate(layout(space, stem_channels))]
    super().__init__(space, blocks, stem_channels=stem_channels, head_channels=head_channels,
                     num_classes=num_classes, in_channels=in_channels, rngs=rngs)
    self.alphas = arch.init_alphas(space, rngs)


def fixed_network(genotype: MacroGenotype, space: Macro | None = None, *, stem_channels: int = 32,
                  head_channels: int = 1280, num_classes: int = 10, in_channels: int = 3,
                  rngs: nnx.Rngs) -> MacroNetwork:
  """The discrete network of a macro genotype (``affine=True`` BatchNorm)."""
  space = space or Macro()
  space.validate(genotype)
  blocks = [block(name, *shape, affine=True, rngs=rngs)
            for name, shape in zip(genotype.blocks, layout(space, stem_channels))]
  return MacroNetwork(space, blocks, stem_channels=stem_channels, head_channels=head_channels,
                      num_classes=num_classes, in_channels=in_channels, rngs=rngs)
