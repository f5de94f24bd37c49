"""From a data config to a ``Dataset``: find the source, cut the splits, apply the proxy knobs
(subset, resolution) and normalize per channel. ImageNet does not fit in memory:
``open_from_config`` gives it as a ``StreamedDataset``, other datasets as ``load_from_config``."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from darts_jax import config_schema as cs
from darts_jax.data import augment, feed, imagenet, pipeline, sources, splits, streaming
from darts_jax.data.dataset import Dataset, Normalization, Split

# Per-channel mean and std of the training images scaled to [0, 1] (as DARTS and torchvision use).
STATS = {
    "cifar10": ((0.49139968, 0.48215827, 0.44653124), (0.24703233, 0.24348505, 0.26158768)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "mnist": ((0.1307,), (0.3081,)),
    "fashion_mnist": ((0.2860,), (0.3530,)),
}
SEARCH_SPLITS = {"train": "train[:50%]", "val": "train[50%:]", "test": "test"}  # DARTS' 25k/25k


def config_schema() -> dict:
  """The fields a data section may hold (``config_schema.check``)."""
  return {
      "name": cs.one_of(sources.NAMES + imagenet.NAMES, "dataset"), "data_dir": cs.text,
      "download": cs.boolean,
      "splits": {"train": cs.text, "val": cs.text, "test": cs.text},
      "test_fraction": cs.number(0, 1, above=True, below=True),
      "subset_fraction": cs.FRACTION, "subset_size": cs.integer(0), "resolution": cs.integer(0),
      "augment": {"crop_padding": cs.integer(0), "flip": cs.boolean, "cutout": cs.integer(0),
                  "scale_min": cs.FRACTION, "jitter": cs.NON_NEGATIVE, "hue": cs.number(0, 0.5)},
      "prefetch": cs.integer(0), "image_size": cs.integer(1), "threads": cs.integer(1),
      "workers": cs.integer(0)}


def load(name: str = "digits", *, seed: int = 0, test_fraction: float = 0.2) -> Dataset:
  """Loads a dataset by name with its default splits. Splits are deterministic for a given seed."""
  return load_from_config({"name": name, "test_fraction": test_fraction}, seed=seed)


def load_from_config(config: Any, *, seed: int = 0) -> Dataset:
  """``config`` (a ConfigDict or dict) has ``name`` and optionally ``data_dir``, ``download``,
  ``splits`` ({train, val, test} split strings), ``test_fraction`` (digits without ``splits``),
  ``subset_fraction`` / ``subset_size`` (of train and val) and ``resolution`` (square side)."""
  get = config.get
  if config["name"] in imagenet.NAMES:
    raise ValueError(f"{config['name']} does not fit in memory: it is streamed from disk by "
                     "data.open_from_config (which retraining uses), never loaded whole")
  raw = sources.find(config["name"], get("data_dir") or None, bool(get("download", False)))
  specs = dict(get("splits") or {})
  if specs or "test" in raw.splits:
    specs = {**SEARCH_SPLITS, **specs}
    parts = {k: splits.select(raw.splits, spec) for k, spec in specs.items()}
  else:  # one native split (the embedded digits): a seeded test hold-out, the rest halved
    parts = _shuffled_parts(raw.splits["train"], seed, get("test_fraction", 0.2))
    specs = {"test_fraction": get("test_fraction", 0.2)}
  for i, k in enumerate(("train", "val")):
    parts[k] = _subset(*parts[k], get("subset_fraction", 1.0), get("subset_size", 0), [seed, i])
  parts = {k: (to_pixels(resize(images, get("resolution", 0))), labels) for k, (images, labels) in
           parts.items()}
  if config["name"] in STATS:
    mean, std = (np.asarray(s, np.float32) for s in STATS[config["name"]])
  else:  # statistics of the search data only
    mean, std = _channel_stats(np.concatenate([parts["train"][0], parts["val"][0]]).astype(
        np.float32) / raw.max_value)
  normalization = Normalization(float(raw.max_value), tuple(mean.tolist()), tuple(std.tolist()))
  split = lambda k: Split(parts[k][0], parts[k][1], normalization)
  settings = {"splits": specs, "subset_fraction": get("subset_fraction", 1.0),
              "subset_size": get("subset_size", 0), "resolution": get("resolution", 0),
              "pixel_scale": float(raw.max_value), "mean": mean.tolist(), "std": std.tolist()}
  return Dataset(config["name"], split("train"), split("val"), split("test"), raw.num_classes,
                 raw.source, settings)


def open_from_config(config: Any, *, seed: int = 0) -> Dataset | streaming.StreamedDataset:
  """ImageNet as a ``StreamedDataset`` (``imagenet.load``); any other dataset in memory."""
  if config["name"] in imagenet.NAMES:
    return imagenet.load(config, seed=seed)
  return load_from_config(config, seed=seed)


def batches_from_config(split: Split | streaming.StreamedSplit, config: Any, batch_size: int, *,
                        seed: int) -> pipeline.Batches | streaming.StreamedBatches:
  """The persistent training iterator over ``split``: in memory with a key per image when
  ``config.augment`` asks for augmentation, and ``config.prefetch``; streamed with the split's own
  augmentation and reading options."""
  if isinstance(split, streaming.StreamedSplit):
    return streaming.StreamedBatches(split, batch_size, seed)
  return pipeline.Batches(split, batch_size, seed=seed, keys=augmentation(config) is not None,
                          prefetch=config.get("prefetch", 0))


def feed_from_config(split: Split | streaming.StreamedSplit, config: Any, *,
                     place=None) -> feed.Feed:
  """The device feed of ``split``'s training batches: its normalization, and ``config.augment``
  for in-memory splits (streamed splits augment as they read)."""
  if isinstance(split, streaming.StreamedSplit):
    return feed.Feed(split.normalization, place=place)
  return feed.Feed(split.normalization, augmentation(config), place=place)


def augmentation(config: Any) -> augment.Augment | None:
  """The batch augmentation ``config.augment`` asks for ({crop_padding, flip, cutout}), or None."""
  options = dict(config.get("augment") or {})
  if not any(options.values()):
    return None
  return augment.for_dataset(config["name"], **options)


def describe(dataset: Dataset | streaming.StreamedDataset) -> dict:
  """Per split: size, image shape and dtype, label histogram, pixel mean/std; and the source.
  (A streamed dataset: sizes and what is known without reading images.)"""
  if isinstance(dataset, streaming.StreamedDataset):
    return streaming.describe(dataset)
  def split(s: Split) -> dict:
    inputs = s.normalized() if len(s) else None
    return {"examples": len(s), "image_shape": list(s.images.shape[1:]),
            "dtype": str(s.images.dtype),
            "label_histogram": np.bincount(s.labels, minlength=dataset.num_classes).tolist(),
            "pixel_mean": round(float(inputs.mean()), 4) if len(s) else None,
            "pixel_std": round(float(inputs.std()), 4) if len(s) else None}
  return {"name": dataset.name, "source": dataset.source, "num_classes": dataset.num_classes,
          "splits": {k: split(getattr(dataset, k)) for k in ("train", "val", "test")},
          "settings": dataset.settings}


def record(dataset: Dataset | streaming.StreamedDataset, workdir: str) -> None:
  """Writes ``describe(dataset)`` to ``<workdir>/data.json`` so a run says what data it saw (a
  resumed or rerun run that saw the same leaves the file as it is)."""
  path = os.path.join(workdir, "data.json")
  content = json.dumps(describe(dataset), indent=1)
  if os.path.exists(path):
    with open(path) as f:
      if f.read() == content:
        return
  with open(path, "w") as f:
    f.write(content)


def resize(images: np.ndarray, side: int) -> np.ndarray:
  """Square ``side`` x ``side`` images: area averaging for integer factors, else nearest pixel."""
  n, h, w, c = images.shape
  if not side or (h, w) == (side, side):
    return images
  if h % side == 0 and w % side == 0:
    blocks = images.reshape(n, side, h // side, side, w // side, c)
    return blocks.mean(axis=(2, 4), dtype=np.float32)
  rows = ((np.arange(side) + 0.5) * h / side).astype(int)
  cols = ((np.arange(side) + 0.5) * w / side).astype(int)
  return images[:, rows][:, :, cols]


def to_pixels(images: np.ndarray) -> np.ndarray:
  """uint8 pixels, as the host keeps them; averaged (resized) values are rounded to the nearest
  level, as resizing an 8-bit image with PIL does."""
  if images.dtype == np.uint8:
    return images
  return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def _shuffled_parts(arrays, seed: int, test_fraction: float) -> dict:
  images, labels = arrays
  order = np.random.default_rng(seed).permutation(len(labels))
  n_test = int(round(test_fraction * len(labels)))
  test, search = order[:n_test], order[n_test:]
  train, val = search[: len(search) // 2], search[len(search) // 2:]
  return {k: (images[i], labels[i]) for k, i in (("train", train), ("val", val), ("test", test))}


def _subset(images, labels, fraction: float, size: int, seed) -> tuple[np.ndarray, np.ndarray]:
  """A seeded random subset of ``size`` examples, else of ``fraction``; order kept."""
  count = size or int(round(fraction * len(labels)))
  if count >= len(labels):
    return images, labels
  keep = np.sort(np.random.default_rng(seed).permutation(len(labels))[:count])
  return images[keep], labels[keep]


def _channel_stats(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  channels = range(images.shape[-1])
  return (np.asarray([images[..., c].mean() for c in channels], np.float32),
          np.asarray([images[..., c].std() for c in channels], np.float32))
