"""Split strings, proxy knobs, the device augmentation's properties, the feed and the keyed,
prefetching iterator."""

import jax
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


def _keys(n, seed=0):
  return jax.random.split(jax.random.PRNGKey(seed), n)


def test_random_crop_takes_every_in_bounds_window_of_the_zero_padded_image():
  images, pad = _distinct(n=2048, size=4, channels=1), 2
  crops = np.asarray(jax.vmap(lambda x, k: augment.random_crop(x, pad, k))(images, _keys(2048)))
  padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
  offsets = []
  for image, crop in zip(padded, crops):
    found = [(t, l) for t in range(2 * pad + 1) for l in range(2 * pad + 1)
             if np.array_equal(image[t:t + 4, l:l + 4], crop)]
    assert len(found) == 1
    offsets.append(found[0])
  counts = np.bincount([t * 5 + l for t, l in offsets], minlength=25)
  assert counts.min() > 40 and counts.max() < 130  # each of the 25 offsets, about 82 times


def test_flip_is_a_left_right_mirror_of_about_half():
  images = _distinct()
  flipped = np.asarray(jax.vmap(augment.random_flip)(images, _keys(64)))
  mirrored = [np.array_equal(f, i[:, ::-1]) for f, i in zip(flipped, images)]
  kept = [np.array_equal(f, i) for f, i in zip(flipped, images)]
  assert all(m != k for m, k in zip(mirrored, kept)) and 16 < sum(mirrored) < 48


def test_cutout_zeroes_one_square_of_the_given_side_clipped_at_borders():
  length, size = 16, 32
  ones = np.ones((200, size, size, 3), np.float32)
  out = np.asarray(jax.vmap(lambda x, k: augment.cutout(x, length, k))(ones, _keys(200)))
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


def test_the_host_keeps_uint8_pixels_and_the_feed_normalizes_them_on_the_device():
  ds = data.load("digits")
  assert ds.train.images.dtype == np.uint8 and ds.train.normalization.scale == 16
  batch = next(data.Batches(ds.train, 32, seed=0))
  assert set(batch) == {"image", "label"} and batch["image"].dtype == np.uint8
  fed = data.Feed(ds.train.normalization)(batch)
  assert isinstance(fed["image"], jax.Array) and fed["image"].dtype == np.float32
  mean, std = ds.settings["mean"], ds.settings["std"]
  np.testing.assert_allclose(fed["image"], (batch["image"] / 16.0 - mean) / std, rtol=1e-6,
                             atol=1e-6)
  np.testing.assert_array_equal(fed["label"], batch["label"])


def test_the_feed_pads_black_before_normalizing_and_cuts_out_after_as_darts_does():
  """torchvision's RandomCrop(padding=4) pads 8-bit pixels with 0 (black), and DARTS' Cutout zeroes
  the normalized image (the mean); the two are told apart by their values after normalization."""
  normalization = data.Normalization(255.0, (0.25, 0.5, 0.75), (0.5, 0.25, 0.125))
  white = np.full((256, 8, 8, 3), 255, np.uint8)
  split = data.Split(white, np.zeros(256, np.int32), normalization)
  black = (0.0 - np.array(normalization.mean)) / normalization.std
  lit = (1.0 - np.array(normalization.mean)) / normalization.std

  padded = data.Feed(normalization, data.Augment(crop_padding=3))(
      next(data.Batches(split, 256, seed=0, keys=True)))["image"]
  values = np.asarray(padded).reshape(-1, 3)
  is_black, is_lit = np.all(values == black, -1), np.all(np.isclose(values, lit), -1)
  assert np.all(is_black | is_lit) and 0.1 < is_black.mean() < 0.5

  cut = data.Feed(normalization, data.Augment(cutout=4))(
      next(data.Batches(split, 256, seed=0, keys=True)))["image"]
  values = np.asarray(cut).reshape(-1, 3)
  is_zero = np.all(values == 0, -1)
  assert np.all(is_zero | np.all(np.isclose(values, lit), -1)) and 0 < is_zero.mean() < 0.25


def test_augmentation_keys_are_seeded_prefetched_and_resume_exactly():
  split = data.load("digits").train
  feed = data.Feed(split.normalization, data.Augment(crop_padding=2, flip=False, cutout=4))
  plain = data.Batches(split, 64, seed=0, keys=True)
  ahead = data.Batches(split, 64, seed=0, keys=True, prefetch=3)
  stream = [next(plain) for _ in range(plain.batches_per_pass + 2)]
  for batch in stream:
    got = next(ahead)
    np.testing.assert_array_equal(got["image"], batch["image"])
    np.testing.assert_array_equal(got["key"], batch["key"])
  assert ahead.position == plain.position
  resumed = data.Batches(split, 64, seed=0, keys=True, prefetch=2)
  resumed.restore((0, 3))
  np.testing.assert_array_equal(feed(next(resumed))["image"], feed(stream[3])["image"])
  assert not np.array_equal(feed(stream[0])["image"], feed(stream[1])["image"])
  other = next(data.Batches(split, 64, seed=1, keys=True))
  assert not np.array_equal(other["key"], stream[0]["key"])
  unaugmented = data.Feed(split.normalization)(next(data.Batches(split, 64, seed=0)))
  np.testing.assert_array_equal(unaugmented["label"], stream[0]["label"])
  assert not np.array_equal(unaugmented["image"], feed(stream[0])["image"])
  with pytest.raises(ValueError, match="keys=True"):
    feed(next(data.Batches(split, 64, seed=0)))


def test_the_feed_augments_each_seed_of_a_stacked_batch_as_its_own():
  split = data.load("digits").train
  feed = data.Feed(split.normalization, data.Augment(crop_padding=2, cutout=4))
  batches = [next(data.Batches(split, 16, seed=s, keys=True)) for s in (0, 1)]
  stacked = feed({k: np.stack([b[k] for b in batches]) for k in batches[0]})["image"]
  for i, batch in enumerate(batches):
    np.testing.assert_array_equal(stacked[i], feed(batch)["image"])


def test_describe_reports_every_split():
  ds = data.load("digits")
  description = data.describe(ds)
  assert description["source"] == ds.source
  for name in ("train", "val", "test"):
    split = description["splits"][name]
    assert split["examples"] == len(getattr(ds, name)) == sum(split["label_histogram"])
    assert split["image_shape"] == [8, 8, 1] and split["dtype"] == "uint8"
