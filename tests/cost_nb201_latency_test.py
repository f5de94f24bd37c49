"""The additive NAS-Bench-201 latency model: held-out fit quality, its use as a search cost, errors."""

import numpy as np
import pytest

from darts_jax import tabular
from darts_jax.cost import nb201_latency, objective
from experiments.configs import nb201_digits


@pytest.fixture(scope="module")
def tables(tables_dir):
  return tabular.load(tables_dir)


@pytest.mark.parametrize("device,min_tau", [("titan_rtx_1", 0.85), ("pixel3", 0.75),
                                            ("gold_6226", 0.85)])
def test_fit_reproduces_held_out_cells_in_rank(tables, device, min_tau):
  model, report = nb201_latency.fit(tables, device)
  print(report)  # the fit's quality, shown with pytest -s
  assert report.held_out == 3125 and report.fitted == 12500
  assert report.kendall_tau > min_tau and report.spearman > report.kendall_tau
  arch = tables.archs[123]
  row = nb201_latency.op_indices([arch])[0]
  assert model.predict(arch) == pytest.approx(
      model.intercept_ms + model.weights_ms[np.arange(6), row].sum())
  assert np.all(model.weights_ms[:, 0] == 0)  # 'none' is each edge's zero
  conv3, skip = model.op_names.index("nor_conv_3x3"), model.op_names.index("skip_connect")
  assert np.all(model.weights_ms[:, conv3] > model.weights_ms[:, skip])


def test_unknown_device_column_lists_the_valid_ones(tables):
  with pytest.raises(tabular.QueryError, match=r"unknown latency device column 'h200'.*titan_rtx_1"):
    nb201_latency.fit(tables, "h200")


def test_table_latency_is_a_search_cost_for_a_chosen_device(tables_dir):
  config = nb201_digits.get_config("quick")
  config.cost.update(weight=1.0, source="nb201_latency", device="titanx_256", tables_dir=tables_dir)
  costs = objective.search_costs(config)
  assert costs["cell"].shape == (6, 5)
  alphas = {"cell": np.zeros((6, 5))}
  uniform = objective.expected_cost(alphas, costs)
  assert float(uniform) == pytest.approx(costs["cell"].mean(axis=1).sum(), rel=1e-5)
  config.space = "darts_cnn"
  with pytest.raises(ValueError, match="nb201_latency is for the nb201 space"):
    objective.search_costs(config)
