"""NAS-Bench-201's ImageNet16 files: the 16x16 Downsampled ImageNet pickles
``train_data_batch_1..10`` and ``val_data`` in a folder ``ImageNet16`` (labels 1..1000 there,
0..999 here)."""

from __future__ import annotations

import os
import pickle

import numpy as np

from darts_jax.data.dataset import CorruptDataError, RawDataset

FOLDER = "ImageNet16"
FILES = {"train": [f"train_data_batch_{i}" for i in range(1, 11)], "test": ["val_data"]}


def read(folder: str) -> RawDataset:
  """All splits from ``folder``; a missing or damaged file is an error naming it."""
  splits = {}
  for split, files in FILES.items():
    parts = [_read_batch(os.path.join(folder, file)) for file in files]
    splits[split] = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
  return RawDataset(splits, 1000, f"ImageNet16 pickles in {folder}")


def _read_batch(path: str) -> tuple[np.ndarray, np.ndarray]:
  try:
    with open(path, "rb") as f:
      batch = pickle.load(f, encoding="latin1")
    pixels, labels = np.asarray(batch["data"], np.uint8), np.asarray(batch["labels"], np.int32) - 1
  except Exception as e:  # a missing file or any unpickling failure
    raise CorruptDataError(f"{path} is not a readable ImageNet16 batch: {e!r}") from e
  if pixels.ndim != 2 or pixels.shape[1] != 16 * 16 * 3 or len(pixels) != len(labels):
    raise CorruptDataError(f"{path}: data of shape {pixels.shape} with {len(labels)} labels")
  return pixels.reshape(-1, 3, 16, 16).transpose(0, 2, 3, 1), labels
