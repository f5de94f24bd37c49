"""Fixed networks to cost: a genotype plus size keywords, for the DARTS and NAS-Bench-201 spaces."""

from __future__ import annotations

import dataclasses

import numpy as np
from flax import nnx

from darts_jax import genotypes, supernet
from darts_jax.spaces import DartsCNN, Macro, NB201, SearchSpace


@dataclasses.dataclass(frozen=True)
class NetworkSize:
  """How big a fixed network is; ``channels`` is the stem's width in the macro space; ``layers`` is
  cells (DARTS) or cells per stage (NAS-Bench-201), unused by the macro space;
  ``setting`` picks the DARTS stem ('cifar' or 'imagenet'); 0 / '' keep the builder's default."""

  channels: int = 0
  layers: int = 0
  num_classes: int = 10
  image_size: int = 32
  setting: str = ""

  def input_shape(self, batch_size: int) -> tuple[int, int, int, int]:
    return (batch_size, self.image_size, self.image_size, 3)


def build(genotype: genotypes.Genotype, space: SearchSpace, size: NetworkSize, *,
          rngs: nnx.Rngs) -> nnx.Module:
  """The fixed network of ``genotype`` (validated against ``space``) at ``size``."""
  space.validate(genotype)
  kwargs = {"num_classes": size.num_classes}
  if size.channels:
    kwargs["stem_channels" if isinstance(space, Macro) else "channels"] = size.channels
  if isinstance(space, DartsCNN):
    kwargs.update({"layers": size.layers} if size.layers else {})
    kwargs.update({"setting": size.setting} if size.setting else {})
  elif isinstance(space, NB201):
    kwargs.update({"cells_per_stage": size.layers} if size.layers else {})
  return supernet.fixed(genotype, space, rngs=rngs, **kwargs)


def abstract(genotype: genotypes.Genotype, space: SearchSpace, size: NetworkSize) -> nnx.Module:
  """The network with shapes but no values: enough for counting, tracing and compiling."""
  return nnx.eval_shape(lambda: build(genotype, space, size, rngs=nnx.Rngs(0)))


def reference_genotype(space: SearchSpace) -> genotypes.Genotype:
  """Some genotype of ``space`` (its rule applied to zero alphas), for shape-only uses."""
  return space.discretize({label: np.zeros(shape) for label, shape in space.alpha_shapes().items()})
