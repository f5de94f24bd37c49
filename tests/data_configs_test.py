"""The dataset experiment configs: well-formed data sections, and the Fashion-MNIST one loads."""

import os

import pytest

from darts_jax import data
from darts_jax.data import sources
from experiments.configs import (darts_cifar10, fashion_mnist, nb201_cifar10, nb201_cifar100,
                                 nb201_imagenet16)

CONFIGS = [darts_cifar10, fashion_mnist, nb201_cifar10, nb201_cifar100, nb201_imagenet16]


@pytest.mark.parametrize("module", CONFIGS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
@pytest.mark.parametrize("arg", ["", "quick"])
def test_data_section_names_a_known_dataset_and_augmentation(module, arg):
  config = module.get_config(arg)
  assert config.data.name in sources.NAMES and not config.data.download
  recipe = data.augmentation(config.data)
  assert recipe.crop_padding > 0 and recipe.flip


def test_fashion_mnist_config_loads_its_proxy_data():
  if not os.path.isdir(sources.DEBIAN_FASHION_MNIST):
    pytest.skip(f"no Fashion-MNIST at {sources.DEBIAN_FASHION_MNIST}")
  config = fashion_mnist.get_config("quick")
  ds = data.load_from_config(config.data, seed=config.seed)
  assert (len(ds.train), len(ds.val), len(ds.test)) == (256, 256, 10_000)
  assert ds.image_shape == (14, 14, 1)
