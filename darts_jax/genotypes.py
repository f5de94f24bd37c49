"""Genotypes: discrete architectures as immutable values, their canonical strings and JSON.

Two canonical forms are supported, exactly as the field writes them:
- DARTS cells: ``Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], reduce=...,
  reduce_concat=[2, 3, 4, 5])`` (quark0/darts ``genotypes.py``).
- NAS-Bench-201 cells: ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (xautodl ``Structure.tostr()``).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import json
import os
import re
from collections.abc import Sequence

import numpy as np


class GenotypeError(ValueError):
  """A malformed genotype string or a genotype that does not fit a search space."""


Edge = tuple[str, int]  # (op name, input index)


@dataclasses.dataclass(frozen=True)
class DartsGenotype:
  """A DARTS normal + reduce cell pair: each node has two ``(op, input)`` edges, listed in order."""

  normal: tuple[Edge, ...]
  normal_concat: tuple[int, ...]
  reduce: tuple[Edge, ...]
  reduce_concat: tuple[int, ...]

  space_name = "darts_cnn"

  def __post_init__(self):
    for field in ("normal", "reduce"):
      object.__setattr__(self, field, tuple((str(op), int(i)) for op, i in getattr(self, field)))
    for field in ("normal_concat", "reduce_concat"):
      object.__setattr__(self, field, tuple(int(i) for i in getattr(self, field)))

  def __str__(self) -> str:
    return (f"Genotype(normal={list(self.normal)}, normal_concat={list(self.normal_concat)}, "
            f"reduce={list(self.reduce)}, reduce_concat={list(self.reduce_concat)})")

  def ops(self) -> set[str]:
    return {op for op, _ in self.normal + self.reduce}

  def to_json(self) -> dict:
    return {"space": self.space_name, "string": str(self),
            "normal": [list(e) for e in self.normal], "normal_concat": list(self.normal_concat),
            "reduce": [list(e) for e in self.reduce], "reduce_concat": list(self.reduce_concat)}


@dataclasses.dataclass(frozen=True)
class NB201Genotype:
  """A NAS-Bench-201 cell: ``nodes[j-1]`` lists ``(op, i)`` for every edge i -> j, i < j."""

  nodes: tuple[tuple[Edge, ...], ...]

  space_name = "nb201"

  def __post_init__(self):
    object.__setattr__(self, "nodes",
                       tuple(tuple((str(op), int(i)) for op, i in node) for node in self.nodes))

  def __str__(self) -> str:
    return "+".join("|" + "|".join(f"{op}~{i}" for op, i in node) + "|" for node in self.nodes)

  def ops(self) -> set[str]:
    return {op for node in self.nodes for op, _ in node}

  def to_json(self) -> dict:
    return {"space": self.space_name, "string": str(self),
            "nodes": [[list(e) for e in node] for node in self.nodes]}


Genotype = DartsGenotype | NB201Genotype


# ----------------------------------------------------------------------------------------------
# Parsing.

_DARTS_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")


def _error_at(text: str, position: int, message: str) -> GenotypeError:
  pointer = " " * position + "^"
  return GenotypeError(f"{message}\n  {text}\n  {pointer}")


def _literal(node: ast.expr):
  """A literal, or ``range(a, b)`` with literal bounds: quark0/darts' ``Network.genotype()`` writes
  ``normal_concat=range(2, 6)``, so genotypes copied from its search logs read as they are."""
  if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"
      and not node.keywords and 1 <= len(node.args) <= 3):
    return list(range(*(int(ast.literal_eval(a)) for a in node.args)))
  return ast.literal_eval(node)


def parse_darts(text: str) -> DartsGenotype:
  """Parses the DARTS ``Genotype(...)`` literal; errors point at the offending token."""
  text = text.strip()
  try:
    tree = ast.parse(text, mode="eval").body
  except SyntaxError as e:
    raise _error_at(text, max((e.offset or 1) - 1, 0),
                    f"malformed DARTS genotype: {e.msg}") from None
  if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name)
          and tree.func.id == "Genotype" and not tree.args):
    raise _error_at(text, 0, "a DARTS genotype must read Genotype(normal=[...], normal_concat=[...],"
                    " reduce=[...], reduce_concat=[...])")
  fields = {}
  for keyword in tree.keywords:
    if keyword.arg not in _DARTS_FIELDS:
      raise _error_at(text, keyword.value.col_offset,
                      f"unexpected field {keyword.arg!r}; expected {', '.join(_DARTS_FIELDS)}")
    try:
      fields[keyword.arg] = _literal(keyword.value)
    except ValueError:
      raise _error_at(text, keyword.value.col_offset,
                      f"field {keyword.arg!r} must be a literal list") from None
  missing = [f for f in _DARTS_FIELDS if f not in fields]
  if missing:
    raise _error_at(text, len(text) - 1, f"missing field(s) {', '.join(missing)}")
  nodes = {keyword.arg: keyword.value for keyword in tree.keywords}
  for cell in ("normal", "reduce"):
    for k, edge in enumerate(fields[cell]):
      if not (isinstance(edge, (tuple, list)) and len(edge) == 2 and isinstance(edge[0], str)
              and isinstance(edge[1], int)):
        raise _error_at(text, nodes[cell].elts[k].col_offset,
                        f"{cell}[{k}] = {edge!r} must be an (op_name, input_index) pair")
  for concat in ("normal_concat", "reduce_concat"):
    if not all(isinstance(i, int) for i in fields[concat]):
      raise _error_at(text, text.find(concat), f"{concat} must be a list of node indices")
  return DartsGenotype(**fields)


_NB201_TOKEN = re.compile(r"^(?P<op>[A-Za-z0-9_]+)~(?P<input>\d+)$")


def parse_nb201(text: str) -> NB201Genotype:
  """Parses ``|op~0|+|op~0|op~1|+...``; node j must list inputs 0..j-1 in order."""
  text = text.strip()
  nodes, position = [], 0
  for j, part in enumerate(text.split("+"), start=1):
    if len(part) < 2 or not (part.startswith("|") and part.endswith("|")):
      raise _error_at(text, position, f"node {j} must be written |op~0|op~1|...| ")
    edges, token_position = [], position + 1
    for token in part[1:-1].split("|"):
      match = _NB201_TOKEN.match(token)
      if not match:
        raise _error_at(text, token_position, f"malformed edge {token!r}; expected op~input")
      expected = len(edges)
      if int(match["input"]) != expected:
        raise _error_at(text, token_position,
                        f"edge {token!r} of node {j} should come from node {expected}")
      edges.append((match["op"], expected))
      token_position += len(token) + 1
    if len(edges) != j:
      raise _error_at(text, position, f"node {j} needs {j} incoming edges, got {len(edges)}")
    nodes.append(tuple(edges))
    position += len(part) + 1
  return NB201Genotype(tuple(nodes))


def parse(text: str) -> Genotype:
  """Parses either canonical form, or a published genotype's name (e.g. ``DARTS_V2``)."""
  text = text.strip()
  if text in PUBLISHED:
    return PUBLISHED[text]
  if text.startswith("Genotype"):
    return parse_darts(text)
  if text.startswith("|"):
    return parse_nb201(text)
  if text.startswith("nb101:"):
    from darts_jax.spaces.nb101 import NB101Cell  # (spaces import this module)
    return NB101Cell.parse(text)
  raise GenotypeError(f"cannot read genotype {text[:60]!r}: expected a DARTS 'Genotype(...)' "
                      f"literal, an NB201 '|op~0|+...' string, or one of {sorted(PUBLISHED)}")


# ----------------------------------------------------------------------------------------------
# JSON.


def from_json(data: dict) -> Genotype:
  """Inverse of ``genotype.to_json()``."""
  space = data.get("space")
  if space == DartsGenotype.space_name:
    return DartsGenotype(**{f: data[f] for f in _DARTS_FIELDS})
  if space == NB201Genotype.space_name:
    return NB201Genotype(data["nodes"])
  if space == "nb101":
    from darts_jax.spaces.nb101 import NB101Cell  # (spaces import this module)
    return NB101Cell(data["matrix"], data["ops"])
  raise GenotypeError(f"genotype JSON has unknown space {space!r}; expected 'darts_cnn' or 'nb201'")


def save(genotype: Genotype, path: str | os.PathLike, *, ops_modules: Sequence[str] = ()) -> None:
  """Writes ``genotype.json``; ``ops_modules`` names the modules that register its custom ops, so
  that whoever loads it (retraining, cost) imports them first."""
  content = genotype.to_json()
  if ops_modules:
    content["ops_modules"] = list(ops_modules)
  with open(path, "w") as f:
    json.dump(content, f, indent=1)


def load(path: str | os.PathLike) -> Genotype:
  """Reads a ``genotype.json`` written by ``save`` (or by a search run), importing the modules it
  names under ``ops_modules`` (they register the custom ops the genotype uses)."""
  try:
    with open(path) as f:
      content = json.load(f)
    genotype = from_json(content)
  except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
    raise GenotypeError(f"{path} is not a genotype JSON file ({e}); search runs write one as "
                        "<workdir>/genotype.json") from None
  except OSError as e:
    raise GenotypeError(f"cannot read genotype file {path} ({e.strerror})") from None
  for module in content.get("ops_modules", ()):
    try:
      importlib.import_module(module)
    except ImportError as e:
      raise GenotypeError(f"{path} needs the ops of module {module!r}, which cannot be imported "
                          f"({e}); run from the folder that holds it or add it to PYTHONPATH") from None
  return genotype


def resolve(spec: str) -> Genotype:
  """A genotype from a published name, a path to ``genotype.json``, or a literal string."""
  if spec.endswith(".json") or os.path.isfile(spec):
    return load(spec)
  return parse(spec)


# ----------------------------------------------------------------------------------------------
# Discretization rules: alphas (or relaxed weights) -> genotype.


def darts_cell_rule(weights: np.ndarray, op_names: Sequence[str], steps: int,
                    edges_per_node: int = 2) -> tuple[Edge, ...]:
  """The DARTS rule: per node keep the ``edges_per_node`` strongest inputs by their best non-``none``
  weight, each with its best non-``none`` op. Ties go to the lower index, as in the reference."""
  weights = np.asarray(weights)
  candidates = [k for k, name in enumerate(op_names) if name != "none"]
  cell, start = [], 0
  for node in range(steps):
    rows = weights[start:start + node + 2][:, candidates]
    strength = rows.max(axis=1)
    for i in sorted(range(node + 2), key=lambda i: -strength[i])[:edges_per_node]:
      cell.append((op_names[candidates[int(np.argmax(rows[i]))]], i))
    start += node + 2
  return tuple(cell)


def argmax_cell_rule(weights: np.ndarray, op_names: Sequence[str],
                     num_nodes: int) -> tuple[tuple[Edge, ...], ...]:
  """The NAS-Bench-201 rule: every edge i -> j keeps its argmax op (``none`` included)."""
  weights = np.asarray(weights)
  nodes, row = [], 0
  for j in range(1, num_nodes):
    nodes.append(tuple((op_names[int(np.argmax(weights[row + i]))], i) for i in range(j)))
    row += j
  return tuple(nodes)


def discretize(alphas: dict, space) -> Genotype:
  """Discretizes alphas (``{label: [edges, ops]}``) with the space's rule."""
  return space.discretize(alphas)


# ----------------------------------------------------------------------------------------------
# Published cells (facts from the papers' released code). Checked against
# ../shared/data/published_genotypes.json by the tests.

PUBLISHED: dict[str, DartsGenotype] = {
    name: parse_darts(literal) for name, literal in {
        "DARTS_V1": "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), "
                    "('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
                    "('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
                    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), "
                    "('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], "
                    "reduce_concat=[2, 3, 4, 5])",
        "DARTS_V2": "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
                    "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
                    "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
                    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
                    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], "
                    "reduce_concat=[2, 3, 4, 5])",
        "PC_DARTS_cifar": "Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), "
                          "('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ('sep_conv_5x5', 0), "
                          "('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)], "
                          "normal_concat=[2, 3, 4, 5], reduce=[('sep_conv_5x5', 1), "
                          "('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 2), "
                          "('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), "
                          "('sep_conv_3x3', 2)], reduce_concat=[2, 3, 4, 5])",
        "PC_DARTS_image": "Genotype(normal=[('skip_connect', 1), ('sep_conv_3x3', 0), "
                          "('sep_conv_3x3', 0), ('skip_connect', 1), ('sep_conv_3x3', 1), "
                          "('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('dil_conv_5x5', 4)], "
                          "normal_concat=[2, 3, 4, 5], reduce=[('sep_conv_3x3', 0), "
                          "('skip_connect', 1), ('dil_conv_5x5', 2), ('max_pool_3x3', 1), "
                          "('sep_conv_3x3', 2), ('sep_conv_3x3', 1), ('sep_conv_5x5', 0), "
                          "('sep_conv_3x3', 3)], reduce_concat=[2, 3, 4, 5])",
        "PDARTS": "Genotype(normal=[('skip_connect', 0), ('dil_conv_3x3', 1), ('skip_connect', 0), "
                  "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3', 0), "
                  "('dil_conv_5x5', 4)], normal_concat=[2, 3, 4, 5], reduce=[('avg_pool_3x3', 0), "
                  "('sep_conv_5x5', 1), ('sep_conv_3x3', 0), ('dil_conv_5x5', 2), ('max_pool_3x3', 0), "
                  "('dil_conv_3x3', 1), ('dil_conv_3x3', 1), ('dil_conv_5x5', 3)], "
                  "reduce_concat=[2, 3, 4, 5])",
    }.items()
}
