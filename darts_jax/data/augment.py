"""Host-side, seeded batch augmentation as in DARTS: random crop after zero padding, horizontal flip,
cutout. Applied to normalized images, so padding and cutout fill with the dataset mean (0)."""

from __future__ import annotations

import dataclasses

import numpy as np

NO_FLIP = ("digits", "mnist", "svhn_cropped")  # mirrored digits are different (or no) digits


@dataclasses.dataclass(frozen=True)
class Augment:
  """``crop_padding`` pixels of zero padding before a random crop back to size, a random horizontal
  ``flip``, and a ``cutout`` square of that side (0 turns each off)."""

  crop_padding: int = 0
  flip: bool = False
  cutout: int = 0

  def __call__(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if self.crop_padding:
      images = random_crop(images, self.crop_padding, rng)
    if self.flip:
      images = random_flip(images, rng)
    if self.cutout:
      images = cutout(images, self.cutout, rng)
    return images


def random_crop(images: np.ndarray, padding: int, rng: np.random.Generator) -> np.ndarray:
  """Pads H and W by ``padding`` zeros on each side and crops each image back at a random offset."""
  n, h, w, _ = images.shape
  padded = np.pad(images, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
  top, left = rng.integers(0, 2 * padding + 1, (2, n))
  rows = (top[:, None] + np.arange(h))[:, :, None]
  cols = (left[:, None] + np.arange(w))[:, None, :]
  return padded[np.arange(n)[:, None, None], rows, cols]


def random_flip(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
  """Mirrors each image left-right with probability 1/2."""
  flip = rng.random(len(images)) < 0.5
  return np.where(flip[:, None, None, None], images[:, :, ::-1], images)


def cutout(images: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
  """Zeroes a ``length``-sided square around a uniformly drawn centre, clipped at the borders
  (DeVries & Taylor, 2017, as DARTS applies it)."""
  n, h, w, _ = images.shape
  cy, cx = rng.integers(0, h, n), rng.integers(0, w, n)
  ys, xs = np.arange(h), np.arange(w)
  inside_y = (ys >= cy[:, None] - length // 2) & (ys < cy[:, None] + length // 2)
  inside_x = (xs >= cx[:, None] - length // 2) & (xs < cx[:, None] + length // 2)
  mask = inside_y[:, :, None] & inside_x[:, None, :]
  return np.where(mask[..., None], np.zeros((), images.dtype), images)


def for_dataset(name: str, *, crop_padding: int = 4, flip: bool | None = None,
                cutout: int = 0) -> Augment:
  """The DARTS recipe for ``name``; flip defaults to off for digit datasets."""
  return Augment(crop_padding, name not in NO_FLIP if flip is None else flip, cutout)
