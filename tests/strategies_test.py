"""Search strategies on the NAS-Bench-201 table: ask/tell, determinism, learning, mutation."""

import numpy as np
import pytest

from darts_jax import genotypes, spaces, strategies, tabular

METHODS = sorted(strategies.STRATEGIES)


@pytest.fixture(scope="module")
def tables(tables_dir):
  return tabular.load(tables_dir)


@pytest.fixture(scope="module")
def encoding():
  return strategies.CategoricalEncoding()


def _search(name, encoding, tables, seed, budget, **kwargs):
  evaluator = strategies.TableEvaluator(tables, encoding)
  return strategies.run(strategies.make(name, encoding, seed=seed, **kwargs), evaluator, budget)


def test_encoding_round_trips_in_the_space_edge_order(encoding):
  space = spaces.get("nb201")
  arch = tuple(range(5)) + (2,)
  genotype = encoding.decode(arch)
  assert str(genotype) == ("|none~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|"
                           "nor_conv_1x1~2|")
  assert encoding.encode(genotypes.parse_nb201(str(genotype))) == arch
  assert arch[space.edge_index(3, 1)] == space.op_names.index("avg_pool_3x3")


def test_mutation_is_always_valid_and_one_edge_away(encoding):
  rng, space = np.random.default_rng(0), spaces.get("nb201")
  for _ in range(2000):
    parent = encoding.sample(rng)
    child = encoding.mutate(parent, rng)
    assert sum(a != b for a, b in zip(parent, child)) == 1
    assert all(0 <= c < 5 for c in child)
    space.validate(encoding.decode(child))


def test_evaluator_reads_the_twelve_epoch_signal_and_counts(tables, encoding):
  evaluator = strategies.TableEvaluator(tables, encoding)
  arch = (3, 3, 3, 1, 3, 2)
  expected = tables.query(str(encoding.decode(arch)), "valid_accuracy", "cifar10", 12)
  assert evaluator(arch) == evaluator(arch) == expected
  assert evaluator.num_queries == 2


@pytest.mark.parametrize("name", METHODS)
def test_each_strategy_improves_on_its_first_sample(name, encoding, tables):
  for seed in range(3):
    result = _search(name, encoding, tables, seed, budget=40)
    assert len(result.history) == 40
    assert result.best_so_far[-1] > result.history[0][1]
    assert dict(result.history)[result.best] == max(score for _, score in result.history)


@pytest.mark.parametrize("name", METHODS)
def test_same_seed_same_trajectory(name, encoding, tables):
  first, again, other = (_search(name, encoding, tables, seed, budget=25) for seed in (7, 7, 8))
  assert first.history == again.history
  assert first.history != other.history


def test_evolution_beats_random_on_average(encoding, tables):
  def mean_best(name):
    return np.mean([_search(name, encoding, tables, s, budget=100).best_so_far[-1]
                    for s in range(20)])
  assert mean_best("rea") > mean_best("random")


def test_evolution_mutates_tournament_winners_of_an_aging_population(encoding):
  rea = strategies.make("rea", encoding, seed=0, population_size=5, sample_size=2)
  rng = np.random.default_rng(1)
  for step in range(30):
    arch = rea.ask()
    if step >= 5:
      assert any(sum(a != b for a, b in zip(arch, m)) == 1 for m, _ in rea.population)
    rea.tell(arch, float(rng.random()))
    assert len(rea.population) == min(step + 1, 5)
  with pytest.raises(ValueError, match="sample_size"):
    strategies.make("rea", encoding, seed=0, population_size=2, sample_size=3)


def test_reinforce_raises_the_probability_of_rewarded_choices(encoding):
  agent = strategies.make("reinforce", encoding, seed=0, learning_rate=0.05)
  good, bad = (3,) * 6, (0,) * 6
  for _ in range(20):
    agent.ask()
    agent.tell(good, 90.0)
    agent.ask()
    agent.tell(bad, 10.0)
  probs = np.asarray(agent.probabilities())
  assert np.all(probs[:, 3] > 0.3) and np.all(probs[:, 0] < 0.1)
  assert 10.0 < agent.baseline < 90.0


def test_bo_tell_must_match_ask(encoding):
  bo = strategies.make("bo", encoding, seed=0)
  arch = bo.ask()
  with pytest.raises(ValueError, match="last ask"):
    bo.tell(tuple((a + 1) % 5 for a in arch), 50.0)


def test_unknown_strategy_lists_the_choices(encoding):
  with pytest.raises(ValueError, match="random"):
    strategies.make("hyperband", encoding, seed=0)
