"""NAS-Bench-101-style cells: validity, hashing up to isomorphism, sampling, mutation, search."""

import numpy as np
import pytest

from darts_jax import strategies
from darts_jax.spaces import nb101
from darts_jax.spaces.nb101 import INPUT, OUTPUT, CellError, NB101Cell

SPACE = nb101.NB101()
C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"

# input -> a -> output, input -> b -> output, a -> b
DIAMOND = NB101Cell([[0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]], [INPUT, C3, C1, OUTPUT])


def _permuted(cell, perm):
  """The same graph with the op vertices renumbered by ``perm`` (a topological order)."""
  order = [0] + [p + 1 for p in perm] + [len(cell.ops) - 1]
  matrix = cell.array[np.ix_(order, order)]
  return NB101Cell(matrix, [cell.ops[k] for k in order])


def test_valid_cell_passes():
  assert SPACE.validate(DIAMOND) is DIAMOND


@pytest.mark.parametrize("cell, words", [
    (NB101Cell([[0, 1, 0], [0, 0, 0], [0, 0, 0]], [INPUT, C3, OUTPUT]), "not reachable"),
    (NB101Cell([[0, 1, 0], [1, 0, 1], [0, 0, 0]], [INPUT, C3, OUTPUT]), "upper-triangular"),
    (NB101Cell([[0, 1, 0], [0, 1, 1], [0, 0, 0]], [INPUT, C3, OUTPUT]), "upper-triangular"),
    (NB101Cell(np.triu(np.ones((7, 7), int), 1), [INPUT] + [C3] * 5 + [OUTPUT]), "exceed"),
    (NB101Cell(np.triu(np.ones((8, 8), int), 1), [INPUT] + [C3] * 6 + [OUTPUT]), "2..7 vertices"),
    (NB101Cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, "sep_conv_3x3", OUTPUT]), "unknown op"),
    (NB101Cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [C3, C3, OUTPUT]), "first vertex"),
    (NB101Cell([[0, 1], [0, 0]], [INPUT, C3, OUTPUT]), "does not match"),
])
def test_invalid_cells_are_rejected(cell, words):
  with pytest.raises(CellError, match=words):
    SPACE.validate(cell)
  assert not SPACE.is_valid(cell)


def _random_topological_order(cell, rng):
  """A random order of the op vertices in which every edge still points forward."""
  matrix, n = cell.array, len(cell.ops)
  placed, order = {0}, []
  while len(order) < n - 2:
    ready = [v for v in range(1, n - 1) if v - 1 not in order and v not in placed
             and all(u in placed for u in np.flatnonzero(matrix[:, v]))]
    v = ready[int(rng.integers(len(ready)))]
    placed.add(v)
    order.append(v - 1)
  return order


def test_isomorphic_cells_hash_equal_and_different_cells_do_not():
  rng = np.random.default_rng(0)
  renumbered = 0
  for _ in range(50):
    cell = SPACE.sample(rng)
    twin = _permuted(cell, _random_topological_order(cell, rng))
    assert SPACE.is_valid(twin) and SPACE.hash(twin) == SPACE.hash(cell)
    renumbered += twin != cell
  assert renumbered > 25
  relabelled = NB101Cell(DIAMOND.matrix, [INPUT, C1, C3, OUTPUT])
  assert SPACE.hash(relabelled) != SPACE.hash(DIAMOND)


def test_hash_ignores_vertices_off_every_path():
  dangling = NB101Cell([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]],
                       [INPUT, C3, MP, OUTPUT])
  plain = NB101Cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, C3, OUTPUT])
  assert SPACE.hash(dangling) == SPACE.hash(plain)


def test_parallel_branches_in_either_order_hash_equal():
  a = NB101Cell([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], [INPUT, C3, MP, OUTPUT])
  b = NB101Cell(a.matrix, [INPUT, MP, C3, OUTPUT])
  assert a != b and SPACE.hash(a) == SPACE.hash(b)


def test_samples_and_mutations_are_valid_and_mutations_differ():
  rng = np.random.default_rng(1)
  for _ in range(100):
    cell = SPACE.sample(rng)
    child = SPACE.mutate(cell, rng)
    assert SPACE.is_valid(cell) and SPACE.is_valid(child)
    assert SPACE.hash(child) != SPACE.hash(cell)
  assert set(SPACE.op_names) == {C3, C1, MP, "conv5x5-bn-relu", "avgpool3x3"}


def test_evolution_searches_nb101_cells():
  """REA over the NB101 space with a toy signal: the number of conv3x3 vertices on a path."""

  class Conv3x3Count:
    num_queries = 0

    def __call__(self, cell):
      self.num_queries += 1
      return float(nb101.prune(cell).ops.count(C3))

  result = strategies.run(strategies.make("rea", SPACE, seed=0), Conv3x3Count(), budget=150)
  assert result.best_so_far[-1] > result.history[0][1]
  assert result.best_so_far[-1] >= 4
