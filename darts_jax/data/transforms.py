"""Per-image augmentation of the DARTS ImageNet recipe (quark0/darts ``cnn/train_imagenet.py``),
written on numpy and PIL: training takes a random resized crop, a random horizontal flip and a
colour jitter; evaluation resizes the shorter side and crops the centre. Both give uint8 pixels;
the per-channel normalization (``NORMALIZATION``) runs on the device (``data.Feed``).

Randomness comes only from the ``numpy.random.Generator`` passed in, so seeding it from
(seed, epoch, index) makes every augmented image reproducible. The jitter works on float images in
[0, 1] and rounds to 8 bits once at the end (torchvision's works on 8-bit PIL images, so it rounds
after each step).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from PIL import Image

from darts_jax.data.dataset import Normalization

# Per-channel mean and std of ImageNet's training images in [0, 1], as train_imagenet.py normalizes.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
NORMALIZATION = Normalization(255.0, MEAN, STD)
LUMA = np.asarray([0.299, 0.587, 0.114], np.float32)  # ITU-R 601-2 grey, as PIL's convert("L")


def crop_box(height: int, width: int, rng: np.random.Generator, *,
             scale: tuple[float, float] = (0.08, 1.0),
             ratio: tuple[float, float] = (3 / 4, 4 / 3), attempts: int = 10):
  """``(top, left, h, w)`` of a random crop covering ``scale`` of the area with a log-uniform aspect
  ratio (w/h) in ``ratio``. Draws up to ``attempts`` boxes and keeps the first that fits inside the
  image; when none fits, the largest centred box whose aspect ratio lies in ``ratio``."""
  area = height * width
  log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
  for _ in range(attempts):
    target = area * rng.uniform(*scale)
    aspect = math.exp(rng.uniform(log_low, log_high))
    w, h = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
    if 0 < w <= width and 0 < h <= height:
      return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)), h, w
  aspect = width / height
  if aspect < ratio[0]:  # too tall: full width, height cut to the narrowest allowed ratio
    w, h = width, round(width / ratio[0])
  elif aspect > ratio[1]:  # too wide: full height, width cut to the widest allowed ratio
    w, h = round(height * ratio[1]), height
  else:
    w, h = width, height
  return (height - h) // 2, (width - w) // 2, h, w


def crop_resize(image: Image.Image, box, size: int) -> Image.Image:
  """The ``(top, left, h, w)`` region of ``image`` resized (bilinear) to ``size`` x ``size``."""
  top, left, h, w = box
  return image.resize((size, size), Image.BILINEAR, box=(left, top, left + w, top + h))


def resize_shorter(image: Image.Image, side: int) -> Image.Image:
  """``image`` scaled (bilinear) so that its shorter side is ``side``, the longer one in proportion
  (truncated to whole pixels)."""
  width, height = image.size
  if min(width, height) == side:
    return image
  if width <= height:
    size = (side, int(side * height / width))
  else:
    size = (int(side * width / height), side)
  return image.resize(size, Image.BILINEAR)


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
  """The central ``size`` x ``size`` window of an HWC array (offsets rounded down)."""
  height, width = image.shape[:2]
  if height < size or width < size:
    raise ValueError(f"cannot crop {size}x{size} from a {height}x{width} image")
  top, left = (height - size) // 2, (width - size) // 2
  return image[top:top + size, left:left + size]


def mirror(image: np.ndarray) -> np.ndarray:
  """Left-right mirror of an HWC array."""
  return image[:, ::-1]


def grey(image: np.ndarray) -> np.ndarray:
  """[H, W, 1] luma of an RGB float image."""
  return (image @ LUMA)[..., None]


def adjust_brightness(image: np.ndarray, factor: float) -> np.ndarray:
  """Pixels times ``factor`` (0 gives black), clipped to [0, 1]."""
  return np.clip(image * factor, 0.0, 1.0)


def adjust_contrast(image: np.ndarray, factor: float) -> np.ndarray:
  """Blend with the image's mean grey level (0 gives a flat grey image), clipped to [0, 1]."""
  mean = grey(image).mean()
  return np.clip(factor * image + (1.0 - factor) * mean, 0.0, 1.0)


def adjust_saturation(image: np.ndarray, factor: float) -> np.ndarray:
  """Blend with the image's own grey version (0 gives greyscale), clipped to [0, 1]."""
  return np.clip(factor * image + (1.0 - factor) * grey(image), 0.0, 1.0)


def adjust_hue(image: np.ndarray, shift: float) -> np.ndarray:
  """Hue rotated by ``shift`` turns of the colour circle (in [-0.5, 0.5]), saturation and value
  (HSV) kept; grey pixels unchanged. Computed per pixel from its max (value), max - min (chroma) and
  hue, without forming saturation."""
  r, g, b = image[..., 0], image[..., 1], image[..., 2]
  value = np.maximum(np.maximum(r, g), b)
  chroma = value - np.minimum(np.minimum(r, g), b)
  safe = np.where(chroma > 0, chroma, 1.0)
  # hue in sixths of a turn: 0 red, 2 green, 4 blue
  hue = np.where(value == r, (g - b) / safe,
                 np.where(value == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0)) + 6.0 * shift

  def channel(n):  # each channel as a function of hue: n = 5 (red), 3 (green), 1 (blue)
    k = hue + n
    k -= 6.0 * np.floor(k / 6.0)  # in [0, 6)
    return value - chroma * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
  return np.stack([channel(5.0), channel(3.0), channel(1.0)], axis=-1)


def color_jitter(image: np.ndarray, rng: np.random.Generator, *, brightness: float,
                 contrast: float, saturation: float, hue: float) -> np.ndarray:
  """Brightness, contrast and saturation factors drawn uniformly from [max(0, 1 - x), 1 + x], a hue
  shift from [-hue, hue]; the four adjustments applied in a random order (torchvision's
  ``ColorJitter`` contract). A strength of 0 skips that adjustment."""
  steps = []
  for adjust, strength in ((adjust_brightness, brightness), (adjust_contrast, contrast),
                           (adjust_saturation, saturation)):
    if strength:
      steps.append((adjust, rng.uniform(max(0.0, 1.0 - strength), 1.0 + strength)))
  if hue:
    steps.append((adjust_hue, rng.uniform(-hue, hue)))
  for i in rng.permutation(len(steps)):
    adjust, factor = steps[i]
    image = adjust(image, factor)
  return image


def to_unit(image: np.ndarray) -> np.ndarray:
  """uint8 HWC pixels as float32 in [0, 1]."""
  return image.astype(np.float32) / 255.0


def to_pixels(image: np.ndarray) -> np.ndarray:
  """A float image in [0, 1] as the nearest uint8 pixels."""
  return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


@dataclasses.dataclass(frozen=True)
class Train:
  """RandomResizedCrop(size, scale=(scale_min, 1)), RandomHorizontalFlip when ``flip``,
  ColorJitter(jitter, jitter, jitter, hue): ``(PIL image, rng) -> uint8 HWC``."""

  size: int = 224
  scale_min: float = 0.08
  flip: bool = True
  jitter: float = 0.4
  hue: float = 0.2

  def __call__(self, image: Image.Image, rng: np.random.Generator) -> np.ndarray:
    box = crop_box(image.height, image.width, rng, scale=(self.scale_min, 1.0))
    pixels = np.asarray(crop_resize(image, box, self.size))
    if self.flip and rng.random() < 0.5:
      pixels = mirror(pixels)
    if self.jitter or self.hue:
      pixels = to_pixels(color_jitter(to_unit(pixels), rng, brightness=self.jitter,
                                      contrast=self.jitter, saturation=self.jitter, hue=self.hue))
    return pixels


@dataclasses.dataclass(frozen=True)
class Eval:
  """Resize(resize) of the shorter side, CenterCrop(size): ``PIL image -> uint8 HWC``."""

  size: int = 224
  resize: int = 256

  def __call__(self, image: Image.Image) -> np.ndarray:
    return center_crop(np.asarray(resize_shorter(image, self.resize)), self.size)


def eval_resize(size: int) -> int:
  """The shorter side evaluation resizes to before its centre crop: 256 for 224, in proportion."""
  return round(size * 256 / 224)
