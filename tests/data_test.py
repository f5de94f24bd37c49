"""The embedded dataset and the persistent batch iterator."""

import numpy as np
import pytest

from darts_jax import data


def test_digits_splits_are_disjoint_normalized_and_nhwc():
  ds = data.load("digits", seed=0)
  assert ds.image_shape == (8, 8, 1) and ds.num_classes == 10
  assert len(ds.train) + len(ds.val) + len(ds.test) == 1797
  rows = lambda split: {im.tobytes() for im in split.images}
  assert not rows(ds.train) & rows(ds.test) and not rows(ds.val) & rows(ds.test)
  search = np.concatenate([ds.train.normalized(), ds.val.normalized()])
  assert abs(search.mean()) < 1e-5 and abs(search.std() - 1) < 1e-5
  assert ds.train.labels.dtype == np.int32


def test_missing_dataset_error_names_the_fix():
  with pytest.raises(data.DatasetUnavailableError, match="cifar10.*--config.data.name=digits"):
    data.load("cifar10")


def test_batches_are_seeded_and_restorable():
  split = data.load("digits").train
  first = [next(data.Batches(split, 32, seed=0))["label"] for _ in range(2)]
  np.testing.assert_array_equal(first[0], first[1])
  other = next(data.Batches(split, 32, seed=1))["label"]
  assert not np.array_equal(first[0], other)

  stream = data.Batches(split, 32, seed=0)
  for _ in range(stream.batches_per_pass + 3):  # into the second pass
    next(stream)
  resumed = data.Batches(split, 32, seed=0)
  resumed.restore(stream.position)
  np.testing.assert_array_equal(next(resumed)["image"], next(stream)["image"])


def test_a_batch_larger_than_the_split_is_rejected():
  split = data.load("digits").test
  with pytest.raises(ValueError, match="exceeds"):
    data.Batches(split, len(split) + 1, seed=0)
