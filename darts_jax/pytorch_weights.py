"""PyTorch DARTS state dicts in and out of darts_jax networks, with no torch dependency.

The original DARTS code (quark0/darts, ``cnn/model_search.py`` and ``cnn/model.py``) and its forks
save ``state_dict()``s: names like ``cells.3._ops.5._ops.4.op.2.weight`` mapped to NCHW/OIHW arrays.
``load_state_dict`` copies one (a dict of arrays, or an ``.npz`` of them) into a search supernet or
an evaluation network; ``state_dict`` writes ours out under the reference's names. Names are built
from our module tree, so every op built from the library's blocks (a user's ``sep_conv_7x7`` made
of ``ops.SepConv`` included) is named as the reference would name it.

Layouts: conv weights OIHW -> HWIO (depthwise ``(C, 1, k, k)`` -> ``(k, k, 1, C)``), linear weights
``(out, in)`` -> ``(in, out)``. ``num_batches_tracked`` has no counterpart here and is skipped. A
search supernet's alphas, which the reference keeps outside its state dict, are read from the
optional entries ``alphas_normal`` / ``alphas_reduce`` (rows = edges, columns = ops, as there).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple

import numpy as np
from flax import nnx

from darts_jax import ops
from darts_jax.supernet import darts_network

ALPHA_KEYS = {"alphas_normal": "normal", "alphas_reduce": "reduce"}
_SKIPPED_SUFFIX = ".num_batches_tracked"


class StateDictError(ValueError):
  """A state dict that does not fit the network: names the unknown, missing or mis-shaped entries."""


class Leaf(NamedTuple):
  """One reference tensor: the variable holding it, its layout, and the edge it occupies when the
  variable is stacked over a group of edges (``None`` otherwise)."""

  variable: nnx.Variable
  layout: str  # "conv" (OIHW), "linear" ((out, in)) or "same"
  index: int | None = None


# ----------------------------------------------------------------------------------------------
# The reference's module names for our modules: ``namer(module) -> [(name, child)]`` where a child
# is a module (named further) or a Leaf. Sequential children are numbered by position, ReLUs
# included, as PyTorch numbers them.

Namer = Callable[[nnx.Module], list]
_NAMERS: dict[type, Namer] = {}


def register_naming(module_type: type) -> Callable[[Namer], Namer]:
  """Decorator: how the reference names the tensors of ``module_type`` (for a user's own op)."""
  def decorator(namer: Namer) -> Namer:
    _NAMERS[module_type] = namer
    return namer
  return decorator


register_naming(ops.Conv)(lambda m: [("weight", Leaf(m.kernel, "conv"))])
register_naming(nnx.Linear)(lambda m: [("weight", Leaf(m.kernel, "linear")),
                                       ("bias", Leaf(m.bias, "same"))])
register_naming(ops.ReLUConvBN)(lambda m: [("op.1", m.conv), ("op.2", m.bn)])
register_naming(ops.DilConv)(lambda m: [("op.1", m.depthwise), ("op.2", m.pointwise),
                                        ("op.3", m.bn)])
register_naming(ops.SepConv)(lambda m: [
    ("op.1", m.first.depthwise), ("op.2", m.first.pointwise), ("op.3", m.first.bn),
    ("op.5", m.second.depthwise), ("op.6", m.second.pointwise), ("op.7", m.second.bn)])
register_naming(ops.FactorizedReduce)(lambda m: [("conv_1", m.conv_a), ("conv_2", m.conv_b),
                                                 ("bn", m.bn)])
register_naming(ops.WithBatchNorm)(lambda m: [("0", m.op), ("1", m.bn)])
for _parameterless in (ops.Zero, ops.Identity, ops.MaxPool3x3, ops.AvgPool3x3):
  register_naming(_parameterless)(lambda m: [])


@register_naming(ops.BatchNorm)
def _batch_norm(m):
  affine = [("weight", Leaf(m.scale, "same")), ("bias", Leaf(m.bias, "same"))] if (
      m.scale is not None) else []
  return affine + [("running_mean", Leaf(m.mean, "same")), ("running_var", Leaf(m.var, "same"))]


register_naming(darts_network.CifarStem)(lambda m: [("0", m.conv), ("1", m.bn)])
register_naming(darts_network.ImageNetStem)(lambda m: [
    ("stem0.0", m.conv0a), ("stem0.1", m.bn0a), ("stem0.3", m.conv0b), ("stem0.4", m.bn0b),
    ("stem1.1", m.conv1), ("stem1.2", m.bn1)])


@register_naming(darts_network.AuxiliaryHead)
def _auxiliary_head(m):
  second = [] if m.bn2 is None else [("features.6", m.bn2)]
  return [("features.2", m.conv1), ("features.3", m.bn1), ("features.5", m.conv2), *second,
          ("classifier", m.classifier)]


def _preprocess(m):
  return [("preprocess0", m.preprocess.input0), ("preprocess1", m.preprocess.input1)]


@register_naming(darts_network.SearchCell)
def _search_cell(m):
  """Edge ``cells.K._ops.E`` (E = alpha row) is a mixed op whose ``_ops.P`` is candidate P; ours
  hold a stage's edges stacked, so each reference edge is one index into a stacked op."""
  named = _preprocess(m)
  for group, rows in zip(m.edges.groups, m.edges.rows):
    for position, row in enumerate(rows):
      named += [(f"_ops.{row}._ops.{k}", _Stacked(op, position)) for k, op in enumerate(group.ops)]
  return named


register_naming(darts_network.FixedCell)(
    lambda m: _preprocess(m) + [(f"_ops.{i}", op) for i, op in enumerate(m.ops)])


@register_naming(darts_network.DartsNetwork)
def _network(m):
  stem = [("" if isinstance(m.stem, darts_network.ImageNetStem) else "stem", m.stem)]
  head = [] if m.auxiliary_head is None else [("auxiliary_head", m.auxiliary_head)]
  return stem + [(f"cells.{k}", cell) for k, cell in enumerate(m.cells)] + head + [
      ("classifier", m.classifier)]


class _Stacked(NamedTuple):
  """A module whose variables are stacked over edges, seen at one edge."""

  module: nnx.Module
  index: int


def named_leaves(model: nnx.Module) -> dict[str, Leaf]:
  """``{reference name: Leaf}`` for every tensor of ``model`` that the reference's state dict holds
  (``num_batches_tracked`` excepted)."""
  leaves = {}

  def visit(prefix: str, node, index):
    if isinstance(node, _Stacked):
      node, index = node.module, node.index
    if isinstance(node, Leaf):
      leaves[prefix] = node._replace(index=index)
      return
    namer = next((n for t, n in _NAMERS.items() if type(node) is t), None)
    if namer is None:
      namer = next((n for t, n in _NAMERS.items() if isinstance(node, t)), None)
    if namer is None:
      raise StateDictError(
          f"no PyTorch naming is known for {type(node).__name__} (at {prefix or 'the top'}); "
          "describe it with @darts_jax.pytorch_weights.register_naming("
          f"{type(node).__name__})")
    for name, child in namer(node):
      visit(f"{prefix}.{name}" if prefix and name else prefix or name, child, index)

  visit("", model, None)
  return leaves


# ----------------------------------------------------------------------------------------------
# Layouts.


def _to_ours(array: np.ndarray, layout: str) -> np.ndarray:
  if layout == "conv":
    return array.transpose(2, 3, 1, 0)
  if layout == "linear":
    return array.T
  return array


def _to_reference(array: np.ndarray, layout: str) -> np.ndarray:
  if layout == "conv":
    return array.transpose(3, 2, 0, 1)
  if layout == "linear":
    return array.T
  return array


def _value(leaf: Leaf) -> np.ndarray:
  value = np.asarray(leaf.variable.get_value())
  return value if leaf.index is None else value[leaf.index]


# ----------------------------------------------------------------------------------------------
# Reading and writing.


def read(source: str | os.PathLike | Mapping) -> dict[str, np.ndarray]:
  """A state dict as ``{name: array}`` from a mapping or an ``.npz`` file (keys = names)."""
  if isinstance(source, Mapping):
    return {str(k): np.asarray(v) for k, v in source.items()}
  path = os.fspath(source)
  if not os.path.isfile(path):
    raise StateDictError(f"state dict file {path} does not exist; save one from PyTorch with "
                         "numpy.savez(path, **{k: v.numpy() for k, v in model.state_dict().items()})")
  try:
    with np.load(path, allow_pickle=False) as archive:
      return {k: archive[k] for k in archive.files}
  except (OSError, ValueError) as e:
    raise StateDictError(f"{path} is not a readable .npz of arrays ({e})") from None


def _listing(names, limit: int = 10) -> str:
  names = sorted(names)
  more = f" and {len(names) - limit} more" if len(names) > limit else ""
  return ", ".join(names[:limit]) + more


def load_state_dict(model: nnx.Module, source: str | os.PathLike | Mapping, *,
                    dtype=None, strict: bool = True) -> None:
  """Copies a reference state dict into ``model`` in place.

  ``dtype``: of the loaded variables (default: each variable's own). ``strict=False`` leaves
  variables the state dict lacks at their values; unknown or mis-shaped entries always raise."""
  state = read(source)
  leaves = named_leaves(model)
  alphas = {k: state.pop(k) for k in list(state) if k in ALPHA_KEYS}
  skipped = {k for k in state if k.endswith(_SKIPPED_SUFFIX)
             and k[:-len(_SKIPPED_SUFFIX)] + ".running_mean" in leaves}
  unknown = set(state) - set(leaves) - skipped
  missing = set(leaves) - set(state) if strict else set()
  if alphas and not hasattr(model, "alphas"):
    unknown |= set(alphas)
  shapes = []
  for name in sorted(set(state) & set(leaves)):
    expected = _value(leaves[name]).shape
    got = _to_ours(state[name], leaves[name].layout).shape
    if got != expected:
      shapes.append(f"{name}: {state[name].shape}, expected "
                    f"{_to_reference(np.zeros(expected), leaves[name].layout).shape}")
  for key, label in ALPHA_KEYS.items():
    if key in alphas and hasattr(model, "alphas"):
      expected = tuple(model.alphas[label].get_value().shape)
      if alphas[key].shape != expected:
        shapes.append(f"{key}: {alphas[key].shape}, expected {expected}")
  problems = [f"{len(unknown)} unknown entr{'y' if len(unknown) == 1 else 'ies'} "
              f"({_listing(unknown)})" if unknown else "",
              f"{len(missing)} missing ({_listing(missing)})" if missing else "",
              f"{len(shapes)} of the wrong shape ({'; '.join(shapes[:10])})" if shapes else ""]
  problems = [p for p in problems if p]
  if problems:
    raise StateDictError(
        f"the state dict does not fit this {type(model).__name__}: {'; '.join(problems)}. Build "
        "the network with the reference's settings (channels C, layers, genotype, auxiliary head) "
        "or pass strict=False to keep weights the state dict lacks")

  updated: dict[int, tuple[nnx.Variable, np.ndarray]] = {}
  for name in sorted(set(state) & set(leaves)):
    leaf = leaves[name]
    key = id(leaf.variable)
    if key not in updated:
      current = np.asarray(leaf.variable.get_value())
      updated[key] = (leaf.variable, current.astype(dtype or current.dtype, copy=True))
    target = updated[key][1]
    value = _to_ours(state[name], leaf.layout)
    if leaf.index is None:
      target[...] = value
    else:
      target[leaf.index] = value
  for variable, value in updated.values():
    variable.set_value(value)
  for key, label in ALPHA_KEYS.items():
    if key in alphas and hasattr(model, "alphas"):
      current = model.alphas[label].get_value()
      model.alphas[label].set_value(np.asarray(alphas[key], dtype or current.dtype))


def state_dict(model: nnx.Module) -> dict[str, np.ndarray]:
  """``model``'s tensors under the reference's names and layouts (plus ``alphas_*`` for a
  supernet); ``load_state_dict`` reads it back."""
  out = {name: _to_reference(_value(leaf), leaf.layout)
         for name, leaf in named_leaves(model).items()}
  if hasattr(model, "alphas"):
    out.update({key: np.asarray(model.alphas[label].get_value())
                for key, label in ALPHA_KEYS.items() if label in model.alphas})
  return out
