"""Collapse diagnostics against closed forms."""

import jax
import jax.numpy as jnp
import numpy as np

from darts_jax import diagnostics, genotypes


def test_dominant_eigenvalue_of_a_quadratic_is_its_matrix_eigenvalue():
  rng = np.random.default_rng(0)
  q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
  eigenvalues = np.array([3.0, -1.0, 0.5, 0.2, 0.1, 0.05])
  a = jnp.asarray(q @ np.diag(eigenvalues) @ q.T, jnp.float32)
  # A pytree of alphas (two groups), as a supernet has.
  loss = lambda t: 0.5 * jnp.concatenate([t["normal"], t["reduce"]]) @ a @ jnp.concatenate(
      [t["normal"], t["reduce"]])
  alphas = {"normal": jnp.ones(3), "reduce": jnp.zeros(3)}
  value = jax.jit(lambda t: diagnostics.dominant_eigenvalue(loss, t, jax.random.key(0), 100))(alphas)
  assert abs(float(value) - 3.0) < 1e-3


def test_mean_entropy_is_log_ops_for_uniform_and_zero_for_one_hot_edges():
  uniform = {"normal": np.full((2, 8), 1 / 8)}
  assert abs(diagnostics.mean_entropy(uniform) - np.log(8)) < 1e-9
  one_hot = {"normal": np.eye(8)[:3], "reduce": np.eye(8)[3:5]}
  assert diagnostics.mean_entropy(one_hot) < 1e-9
  # Sigmoid weights are normalized per edge first: two equal weights on 4 ops give log 2.
  assert abs(diagnostics.mean_entropy({"cell": np.array([[0.9, 0.9, 0.0, 0.0]])}) - np.log(2)) < 1e-9


def test_skip_connections_count_the_normal_cell_or_the_nb201_cell():
  assert diagnostics.skip_connections(genotypes.PUBLISHED["DARTS_V1"]) == 3
  assert diagnostics.skip_connections(genotypes.PUBLISHED["DARTS_V2"]) == 2
  nb201 = genotypes.parse("|skip_connect~0|+|skip_connect~0|none~1|+|nor_conv_3x3~0|skip_connect~1|"
                          "skip_connect~2|")
  assert diagnostics.skip_connections(nb201) == 4


def test_darts_es_keeps_the_epoch_before_the_window_in_which_the_eigenvalue_grew():
  flat = [1.0] * 10
  assert diagnostics.early_stop_epoch(flat, window=5, ratio=1 / 0.75) is None
  growing = [1.0] * 5 + [1.5] * 5  # the last window's mean is 1.5x the one before
  assert diagnostics.early_stop_epoch(growing, window=5, ratio=1 / 0.75) == 4
  assert diagnostics.early_stop_epoch(growing, window=5, ratio=2.0) is None
  assert diagnostics.early_stop_epoch(growing[:9], window=5, ratio=1 / 0.75) is None  # too few
  assert diagnostics.early_stop_epoch(growing, window=5, ratio=0.0) is None  # off
