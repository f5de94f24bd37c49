"""Relaxations are pure functions of alphas with the documented normalization."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from darts_jax import relaxations


def test_softmax_mixes_each_edge_to_one_and_sigmoid_does_not():
  alphas = jnp.array([[0.0, 1.0, 2.0], [5.0, 5.0, 5.0]])
  np.testing.assert_allclose(relaxations.get("softmax")(alphas).sum(-1), [1.0, 1.0], rtol=1e-6)
  np.testing.assert_allclose(relaxations.get("sigmoid")(alphas)[1], jax.nn.sigmoid(5.0) * np.ones(3),
                             rtol=1e-6)


def test_apply_relaxes_every_label():
  mixing = relaxations.apply(relaxations.softmax, {"normal": jnp.zeros((2, 4)),
                                                   "reduce": jnp.zeros((2, 4))})
  assert set(mixing) == {"normal", "reduce"}
  np.testing.assert_allclose(mixing["reduce"], 0.25)


def test_unknown_relaxation_names_the_choices():
  with pytest.raises(ValueError, match="softmax"):
    relaxations.get("gumbel_plus")
