"""Finds a dataset: TFDS, then local files, then the embedded digits; reports where it looked."""

from __future__ import annotations

import os

import numpy as np

from darts_jax.data import cifar, idx, imagenet16, tfds_source
from darts_jax.data.dataset import CorruptDataError, DatasetUnavailableError, RawDataset

DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist/"  # apt-get install dataset-fashion-mnist

# our name -> (TFDS builder, {our split: TFDS split})
TFDS_NAMES = {
    "cifar10": ("cifar10", {"train": "train", "test": "test"}),
    "cifar100": ("cifar100", {"train": "train", "test": "test"}),
    "svhn_cropped": ("svhn_cropped", {"train": "train", "test": "test"}),
    "fashion_mnist": ("fashion_mnist", {"train": "train", "test": "test"}),
    "mnist": ("mnist", {"train": "train", "test": "test"}),
    "imagenet16_120": ("imagenet_resized/16x16", {"train": "train", "test": "validation"}),
}
NAMES = ("digits", *TFDS_NAMES)
IMAGENET16_CLASSES = 120  # NAS-Bench-201's ImageNet16-120 keeps the first 120 of 1,000 classes


def find(name: str, data_dir: str | None = None, download: bool = False) -> RawDataset:
  """The first source that has ``name``; raises ``DatasetUnavailableError`` listing all it tried."""
  if name not in NAMES:
    raise DatasetUnavailableError(f"unknown dataset {name!r}; known: {', '.join(NAMES)}")
  if name == "digits":
    return _digits()
  looked = []
  raw = tfds_source.read(*TFDS_NAMES[name], data_dir, download, looked) or _local(name, data_dir,
                                                                                  looked)
  if raw is None:
    raise DatasetUnavailableError(
        f"dataset {name!r} is not available; looked in: {'; '.join(looked)}. Provide it in one of "
        f"three ways: (1) a TFDS-prepared copy in --config.data.data_dir=DIR (tfds build "
        f"{TFDS_NAMES[name][0]} --data_dir=DIR where a network is available, or "
        "--config.data.download=True); (2) the original files (CIFAR python/binary folders or "
        ".tar.gz archives, IDX files, SVHN .mat files, NAS-Bench-201's ImageNet16 folder) in DIR "
        "or DIR/downloads/manual; (3) the embedded dataset: --config.data.name=digits")
  if name == "imagenet16_120":
    raw = _first_classes(raw, IMAGENET16_CLASSES)
  return raw


def _local(name: str, data_dir: str | None, looked: list[str]) -> RawDataset | None:
  directories = [] if data_dir is None else [
      data_dir, os.path.join(data_dir, "downloads", "manual"), os.path.join(data_dir, name)]
  if name == "fashion_mnist":
    directories.append(DEBIAN_FASHION_MNIST)
  for directory in directories:
    if name in cifar.LAYOUTS:
      for path in cifar.candidates(name, directory):
        looked.append(path)
        if os.path.exists(path):
          return cifar.read(name, path)
    elif name in ("mnist", "fashion_mnist"):
      looked.append(f"{directory} (IDX files)")
      raw = idx.read(directory, name) if os.path.isdir(directory) else None
      if raw is not None:
        return raw
    elif name == "imagenet16_120":
      folder = os.path.join(directory, imagenet16.FOLDER)
      looked.append(folder)
      if os.path.isdir(folder):
        return imagenet16.read(folder)
    elif name == "svhn_cropped":
      looked.append(f"{directory} (train_32x32.mat, test_32x32.mat)")
      if os.path.isfile(os.path.join(directory, "train_32x32.mat")):
        return _svhn(directory)
  if not directories:
    looked.append("no local files (no data_dir given)")
  return None


def _svhn(directory: str) -> RawDataset:
  from scipy import io as sio  # imported lazily: only this source needs it

  splits = {}
  for split in ("train", "test"):
    path = os.path.join(directory, f"{split}_32x32.mat")
    try:
      mat = sio.loadmat(path)
    except Exception as e:  # scipy raises several types for damaged files
      raise CorruptDataError(f"cannot read the SVHN file {path}: {e!r}") from e
    labels = mat["y"].reshape(-1).astype(np.int32)
    splits[split] = (mat["X"].transpose(3, 0, 1, 2), np.where(labels == 10, 0, labels))
  return RawDataset(splits, 10, f"SVHN .mat files in {directory}")


def _digits() -> RawDataset:
  from sklearn import datasets as sk_datasets  # imported lazily: only this source needs it

  digits = sk_datasets.load_digits()
  images = digits.images.astype(np.uint8)[..., None]
  return RawDataset({"train": (images, digits.target.astype(np.int32))}, 10,
                    "scikit-learn bundled digits (embedded)", max_value=16.0)


def _first_classes(raw: RawDataset, n: int) -> RawDataset:
  keep = lambda images, labels: (images[labels < n], labels[labels < n])
  splits = {split: keep(*arrays) for split, arrays in raw.splits.items()}
  return RawDataset(splits, n, f"{raw.source}, first {n} classes")
