"""IDX files (MNIST, Fashion-MNIST), raw or gzipped, as LeCun's format describes them."""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from darts_jax.data.dataset import CorruptDataError, RawDataset

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def read_idx(path: str) -> np.ndarray:
  """One IDX file as an array of its declared shape; a ``.gz`` name is decompressed."""
  try:
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
      raw = f.read()
  except (OSError, EOFError, zlib.error) as e:
    raise CorruptDataError(f"cannot read the IDX file {path}: {e}") from e
  if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _DTYPES:
    raise CorruptDataError(f"{path} is not an IDX file (bad magic number {raw[:4]!r})")
  ndim, dtype = raw[3], np.dtype(_DTYPES[raw[2]])
  header = 4 + 4 * ndim
  if len(raw) < header:
    raise CorruptDataError(f"{path}: truncated IDX header")
  shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
  size = int(np.prod(shape)) * dtype.itemsize
  if len(raw) != header + size:
    raise CorruptDataError(f"{path}: {len(raw) - header} data bytes, the header {shape} needs "
                           f"{size} (truncated?)")
  return np.frombuffer(raw, dtype, offset=header).reshape(shape)


def find(directory: str, stem: str) -> str | None:
  """``<directory>/<stem>`` or ``<stem>.gz``, whichever exists."""
  for path in (os.path.join(directory, stem), os.path.join(directory, stem + ".gz")):
    if os.path.isfile(path):
      return path
  return None


def read(directory: str, name: str) -> RawDataset | None:
  """The train and test splits from the four standard files in ``directory``; None if it has none.
  Some but not all four files present is an error naming the missing one."""
  paths = {stem: find(directory, stem) for pair in FILES.values() for stem in pair}
  if not any(paths.values()):
    return None
  missing = [stem for stem, path in paths.items() if path is None]
  if missing:
    raise CorruptDataError(f"{directory} holds some {name} IDX files but lacks {missing[0]}[.gz]")
  splits = {}
  for split, (images_stem, labels_stem) in FILES.items():
    images, labels = read_idx(paths[images_stem]), read_idx(paths[labels_stem])
    if images.ndim != 3 or labels.shape != images.shape[:1]:
      raise CorruptDataError(f"{paths[images_stem]} ({images.shape}) and {paths[labels_stem]} "
                             f"({labels.shape}) do not form an image/label pair")
    splits[split] = (images[..., None], labels.astype(np.int32))
  return RawDataset(splits, 10, f"IDX files in {directory}")
