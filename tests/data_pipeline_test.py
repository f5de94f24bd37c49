"""Split strings, proxy knobs, augmentation properties and the augmented, prefetching iterator."""

import numpy as np
import pytest

from darts_jax import data
from darts_jax.data import augment, loading, splits


def test_search_split_strings_are_disjoint_and_cover_the_source():
  sizes = {"train": 50_001, "test": 7}
  (_, first), = splits.indices("train[:50%]", sizes)
  (_, second), = splits.indices("train[50%:]", sizes)
  assert not set(first) & set(second) and len(first) + len(second) == 50_001
  parts = splits.indices("train[10:12]+test[-2:]", sizes)
  assert [(name, i.tolist()) for name, i in parts] == [("train", [10, 11]), ("test", [5, 6])]
  with pytest.raises(ValueError, match="validation"):
    splits.indices("validation", sizes)
  with pytest.raises(ValueError, match="bad split string"):
    splits.indices("train[:half]", sizes)


def test_digits_with_split_strings_and_proxy_knobs():
  config = {"name": "digits", "splits": {"train": "train[:40%]", "val": "train[40%:80%]",
                                         "test": "train[80%:]"},
            "subset_size": 100, "resolution": 4}
  ds = data.load_from_config(config, seed=0)
  assert (len(ds.train), len(ds.val), len(ds.test)) == (100, 100, 359)
  assert ds.image_shape == (4, 4, 1) and ds.settings["resolution"] == 4
  again = data.load_from_config(config, seed=0)
  np.testing.assert_array_equal(ds.train.images, again.train.images)
  other = data.load_from_config(config, seed=1)
  assert not np.array_equal(ds.train.labels, other.train.labels)


def test_resize_averages_integer_factors_and_samples_otherwise():
  images = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
  np.testing.assert_array_equal(loading.resize(images, 2)[0, ..., 0], [[2.5, 4.5], [10.5, 12.5]])
  assert loading.resize(images, 3).shape == (1, 3, 3, 1)


def _distinct(n=64, size=8, channels=2):
  """Images of distinct non-zero pixels, so the window a crop came from is identifiable."""
  shape = (n, size, size, channels)
  return np.arange(1, np.prod(shape) + 1, dtype=np.float32).reshape(shape)


def test_random_crop_takes_an_in_bounds_window_of_the_padded_image():
  images, pad = _distinct(), 4
  crops = augment.random_crop(images, pad, np.random.default_rng(0))
  padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
  offsets = set()
  for image, crop in zip(padded, crops):
    found = [(t, l) for t in range(2 * pad + 1) for l in range(2 * pad + 1)
             if np.array_equal(image[t:t + 8, l:l + 8], crop)]
    assert len(found) == 1
    offsets.add(found[0])
  assert len(offsets) > 10  # offsets vary


def test_flip_is_a_left_right_mirror_of_about_half():
  images = _distinct()
  flipped = augment.random_flip(images, np.random.default_rng(0))
  mirrored = [np.array_equal(f, i[:, ::-1]) for f, i in zip(flipped, images)]
  kept = [np.array_equal(f, i) for f, i in zip(flipped, images)]
  assert all(m != k for m, k in zip(mirrored, kept)) and 16 < sum(mirrored) < 48


def test_cutout_zeroes_one_square_of_the_given_side_clipped_at_borders():
  length, size = 16, 32
  out = augment.cutout(np.ones((200, size, size, 3), np.float32), length, np.random.default_rng(0))
  full = 0
  for image in out:
    rows, cols = np.nonzero(image[..., 0] == 0)
    height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    assert len(rows) == height * width and height <= length and width <= length  # one rectangle
    assert np.all(image[rows, cols] == 0)  # all channels
    inside = 0 < rows.min() and rows.max() < size - 1 and 0 < cols.min() and cols.max() < size - 1
    if inside:
      assert (height, width) == (length, length)
      full += 1
  assert full > 10


def test_digit_datasets_are_not_flipped():
  assert not augment.for_dataset("mnist").flip and augment.for_dataset("cifar10").flip
  assert data.augmentation({"name": "digits"}) is None
  assert data.augmentation({"name": "cifar10", "augment": {"cutout": 16}}).cutout == 16


def test_augmented_prefetched_stream_is_seeded_and_resumes_exactly():
  split = data.load("digits").train
  recipe = data.Augment(crop_padding=2, flip=False, cutout=4)
  plain = data.Batches(split, 64, seed=0, augment=recipe)
  ahead = data.Batches(split, 64, seed=0, augment=recipe, prefetch=3)
  stream = [next(plain) for _ in range(plain.batches_per_pass + 2)]
  for batch in stream:
    np.testing.assert_array_equal(next(ahead)["image"], batch["image"])
  assert ahead.position == plain.position
  resumed = data.Batches(split, 64, seed=0, augment=recipe, prefetch=2)
  resumed.restore((0, 3))
  np.testing.assert_array_equal(next(resumed)["image"], stream[3]["image"])
  other = next(data.Batches(split, 64, seed=1, augment=recipe))
  assert not np.array_equal(other["image"], stream[0]["image"])
  unaugmented = next(data.Batches(split, 64, seed=0))
  np.testing.assert_array_equal(unaugmented["label"], stream[0]["label"])
  assert not np.array_equal(unaugmented["image"], stream[0]["image"])


def test_describe_reports_every_split():
  ds = data.load("digits")
  description = data.describe(ds)
  assert description["source"] == ds.source
  for name in ("train", "val", "test"):
    split = description["splits"][name]
    assert split["examples"] == len(getattr(ds, name)) == sum(split["label_histogram"])
    assert split["image_shape"] == [8, 8, 1] and split["dtype"] == "float32"
