"""An op-based macro space (ProxylessNAS / FBNet style): a MobileNetV2 chain of inverted-residual
blocks, each choosing its kernel size {3, 5, 7} and expansion {3, 6}, or (when its input and output
shapes agree) to be skipped.

Every block is one choice among ``MACRO_OPS``; blocks that change resolution or width (the first of
each stage) cannot be skipped and choose among the six convolutions only. Alpha groups: ``first``
(one row per stage) and ``blocks`` (one row per remaining block), rows in network order.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re

import numpy as np

from darts_jax import genotypes
from darts_jax.spaces import base

MBCONV_OPS = tuple(f"mb{e}_k{k}" for e in (3, 6) for k in (3, 5, 7))
MACRO_OPS = MBCONV_OPS + ("skip",)
_MBCONV = re.compile(r"^mb(?P<expansion>\d+)_k(?P<kernel>\d+)$")

# (output channels, blocks, stride of the first block): MobileNetV2's stages at CIFAR strides.
DEFAULT_STAGES = ((24, 2, 1), (32, 3, 2), (64, 4, 2), (96, 3, 1), (160, 3, 2), (320, 1, 1))


def block_op(name: str) -> tuple[int, int]:
  """``(expansion, kernel)`` of an inverted-residual op name such as ``mb6_k5``."""
  match = _MBCONV.match(name)
  if not match:
    raise genotypes.GenotypeError(f"{name!r} is not an inverted-residual op (mb<expansion>_k<kernel>)")
  return int(match["expansion"]), int(match["kernel"])


@dataclasses.dataclass(frozen=True)
class MacroGenotype:
  """One op per block, in network order; written ``macro:mb6_k3,skip,...``."""

  blocks: tuple[str, ...]

  space_name = "macro"

  def __post_init__(self):
    object.__setattr__(self, "blocks", tuple(str(b) for b in self.blocks))

  def __str__(self) -> str:
    return "macro:" + ",".join(self.blocks)

  def ops(self) -> set[str]:
    return set(self.blocks)

  def to_json(self) -> dict:
    return {"space": self.space_name, "string": str(self), "blocks": list(self.blocks)}


@dataclasses.dataclass(frozen=True)
class Macro:
  """The chain's stages; ``first_rows`` / ``block_rows`` map alpha rows to block positions."""

  stages: tuple[tuple[int, int, int], ...] = DEFAULT_STAGES

  name = "macro"
  labels = ("first", "blocks")
  op_names = MACRO_OPS

  def __post_init__(self):
    object.__setattr__(self, "stages", tuple(tuple(int(v) for v in s) for s in self.stages))
    if not self.stages or any(n < 1 for _, n, _ in self.stages):
      raise ValueError(f"every stage needs at least one block, got {self.stages}")

  @property
  def num_blocks(self) -> int:
    return sum(n for _, n, _ in self.stages)

  def first_blocks(self) -> list[int]:
    """Positions of the first block of each stage (the blocks that cannot be skipped)."""
    return list(np.cumsum([0] + [n for _, n, _ in self.stages[:-1]]))

  def rows(self) -> list[tuple[str, int]]:
    """``(label, row)`` of each block in network order."""
    first, counters, out = set(self.first_blocks()), {"first": 0, "blocks": 0}, []
    for position in range(self.num_blocks):
      label = "first" if position in first else "blocks"
      out.append((label, counters[label]))
      counters[label] += 1
    return out

  def alpha_shapes(self) -> dict[str, tuple[int, int]]:
    return {"first": (len(self.stages), len(MBCONV_OPS)),
            "blocks": (self.num_blocks - len(self.stages), len(MACRO_OPS))}

  def discretize(self, alphas) -> MacroGenotype:
    """Each block keeps its strongest op."""
    base.check_alpha_shapes(self, alphas)
    return MacroGenotype([self.op_names[int(np.argmax(np.asarray(alphas[label])[row]))]
                          for label, row in self.rows()])

  def validate(self, genotype) -> MacroGenotype:
    if not isinstance(genotype, MacroGenotype):
      raise genotypes.GenotypeError(
          f"genotype {str(genotype)[:60]!r} is for the {genotype.space_name} space, not macro")
    if len(genotype.blocks) != self.num_blocks:
      raise genotypes.GenotypeError(f"the macro space has {self.num_blocks} blocks, the genotype "
                                    f"lists {len(genotype.blocks)}")
    base.check_op_set(self.op_names, genotype, self.name)
    for position in self.first_blocks():
      if genotype.blocks[position] == "skip":
        raise genotypes.GenotypeError(f"block {position} opens a stage (it changes shape) and cannot"
                                      " be skipped")
    return genotype

  def parse(self, text: str) -> MacroGenotype:
    """``macro:op,op,...`` or a ``genotype.json`` path written from a MacroGenotype."""
    text = text.strip()
    if text.endswith(".json") or os.path.isfile(text):
      with open(text) as f:
        data = json.load(f)
      if data.get("space") != self.name:
        raise genotypes.GenotypeError(f"{text} holds a {data.get('space')} genotype, not macro")
      return self.validate(MacroGenotype(data["blocks"]))
    if not text.startswith("macro:"):
      raise genotypes.GenotypeError(f"a macro genotype reads macro:op,op,... got {text[:60]!r}")
    return self.validate(MacroGenotype(text[len("macro:"):].split(",")))
