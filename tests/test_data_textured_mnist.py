"""Tests for jaxgan.data.textured_mnist and the `mnist2textured` source.

The splits are checked against MNIST itself (the session fixture `data_dir`
prepares `bundled_mnist`): domain A's images are MNIST's digits padded,
domain B's are the rule of MNIST-M applied to them, row for row.
"""

import numpy as np
import pytest

from jaxgan import data
from jaxgan.data import sources
from jaxgan.data import textured_mnist
from jaxgan.data import transforms

SPLITS = ('trainA', 'trainB', 'testA', 'testB')


@pytest.fixture(scope='module')
def mnist(data_dir):
  """MNIST's two splits, as served: {split: {'image', 'label'}}."""
  return {
    split: sources.open_source(
      data.BUNDLED_MNIST, split=split, data_dir=data_dir, with_labels=True
    ).arrays
    for split in ('train', 'test')
  }


@pytest.fixture(scope='module')
def splits(data_dir):
  """The four splits of `mnist2textured`, built once for the module."""
  return {
    split: sources.open_source(
      data.MNIST2TEXTURED, split=split, data_dir=data_dir, with_labels=True
    ).arrays
    for split in SPLITS
  }


def test_the_splits_as_served(data_dir, splits):
  expected = {
    'trainA': (30_000, 1),
    'trainB': (30_000, 3),
    'testA': (10_000, 1),
    'testB': (10_000, 3),
  }
  for split, (length, channels) in expected.items():
    images, labels = splits[split]['image'], splits[split]['label']
    assert images.shape == (length, 32, 32, channels) and images.dtype == np.uint8, split
    assert labels.shape == (length,) and labels.dtype == np.int32, split
    spec = data.DataSpec(data.MNIST2TEXTURED, data_dir=data_dir, split=split)
    assert data.dataset_info(spec, with_labels=True) == data.DatasetInfo(
      'mnist2textured', (32, 32, channels), 10, length, 'image'
    )
  # Labels only when asked for, as for every source. (On testA alone: reading
  # an example loads its split, and `_decoded_split` keeps only the last 4
  # loaded, so doing this on every split would build trainB again.)
  source = sources.open_source(data.MNIST2TEXTURED, split='testA', data_dir=data_dir)
  assert source.num_classes is None and set(source[0]) == {'image'}


def test_domain_a_is_mnist_padded(mnist, splits):
  for split, digits in (('trainA', mnist['train']), ('testA', mnist['test'])):
    start, stop = textured_mnist.DIGITS[split].start, textured_mnist.DIGITS[split].stop
    images = splits[split]['image']
    np.testing.assert_array_equal(images[:, 2:30, 2:30], digits['image'][start:stop])
    assert not images[:, :2].any() and not images[:, 30:].any(), split
    assert not images[:, :, :2].any() and not images[:, :, 30:].any(), split
    np.testing.assert_array_equal(splits[split]['label'], digits['label'][start:stop])


def test_domain_b_is_mnist_blended_onto_textures(mnist, splits):
  # The first 300 rows of each: textures(seed, 300) are the first 300 of the
  # split's textures, and a vectorised build errs everywhere or nowhere.
  for split, digits in (('trainB', mnist['train']), ('testB', mnist['test'])):
    start = textured_mnist.DIGITS[split].start
    backgrounds = textured_mnist.textures(textured_mnist.TEXTURE_SEEDS[split], 300)
    np.testing.assert_array_equal(
      splits[split]['image'][:300],
      textured_mnist.blend(digits['image'][start : start + 300], backgrounds),
    )
    stop = textured_mnist.DIGITS[split].stop
    np.testing.assert_array_equal(splits[split]['label'], digits['label'][start:stop])


def test_the_train_domains_share_no_digit(mnist):
  # trainA holds MNIST train's first half, trainB its second (the two tests
  # above check the rows): unpaired, and together all of MNIST train.
  a, b = textured_mnist.DIGITS['trainA'], textured_mnist.DIGITS['trainB']
  assert (a.split, b.split) == ('train', 'train')
  assert a.start == 0 and a.stop == b.start and b.stop == len(mnist['train']['label'])


def test_the_test_domains_hold_the_same_digits(splits):
  # Row i of testA and testB is the same MNIST test digit, on other textures
  # than trainB's.
  np.testing.assert_array_equal(splits['testA']['label'], splits['testB']['label'])
  assert textured_mnist.TEXTURE_SEEDS['testB'] != textured_mnist.TEXTURE_SEEDS['trainB']
  assert not np.array_equal(
    textured_mnist.textures(textured_mnist.TEXTURE_SEEDS['testB'], 8),
    textured_mnist.textures(textured_mnist.TEXTURE_SEEDS['trainB'], 8),
  )


def test_a_build_is_deterministic(mnist, splits):
  # Built again, testB equals the copy the source built (and cached) before.
  images, labels = textured_mnist.build_split(
    'testB', mnist['test']['image'], mnist['test']['label']
  )
  np.testing.assert_array_equal(images, splits['testB']['image'])
  np.testing.assert_array_equal(labels, splits['testB']['label'])
  assert not images.flags.writeable and not labels.flags.writeable


def test_textures_are_fixed_by_the_seed():
  textures = textured_mnist.textures(7, 300)
  np.testing.assert_array_equal(textures, textured_mnist.textures(7, 300))
  # The first k do not depend on how many were asked for (chunk boundaries
  # included), nor on whether the seed came through a generator's draw.
  np.testing.assert_array_equal(textures[:129], textured_mnist.textures(7, 129))
  assert not np.array_equal(textures[:10], textured_mnist.textures(8, 10))
  from_rng = textured_mnist.textures(np.random.default_rng(3), 4)
  np.testing.assert_array_equal(from_rng, textured_mnist.textures(np.random.default_rng(3), 4))
  assert textured_mnist.textures(7, 2, size=64).shape == (2, 64, 64, 3)


def test_textures_vary():
  textures = textured_mnist.textures(0, 512)
  assert textures.shape == (512, 32, 32, 3) and textures.dtype == np.uint8
  pixels = textures.reshape(512, -1, 3).astype(np.float64)
  # Within each texture: none is flat, most vary a lot.
  spread = pixels.reshape(512, -1).std(axis=1)
  assert spread.min() > 5 and np.median(spread) > 25
  # Across textures: the mean colours differ in every channel, and the
  # brightness ranges from dark to light.
  colours = pixels.mean(axis=1)
  assert (colours.std(axis=0) > 30).all()
  brightness = colours.mean(axis=1)
  assert np.percentile(brightness, 5) < 90 and np.percentile(brightness, 95) > 140


def test_the_blend_rule():
  digits = np.zeros((1, 28, 28), np.uint8)
  digits[0, 5, 7] = 255
  digits[0, 10, 10] = 100
  backgrounds = np.empty((1, 32, 32, 3), np.uint8)
  backgrounds[...] = (10, 200, 255)
  blended = textured_mnist.blend(digits, backgrounds)
  assert blended.shape == (1, 32, 32, 3) and blended.dtype == np.uint8
  # A white stroke inverts the texture's colour; the digit moves by the
  # padding of 2.
  np.testing.assert_array_equal(blended[0, 7, 9], (245, 55, 0))
  np.testing.assert_array_equal(blended[0, 12, 12], (90, 100, 155))
  # Black leaves the texture as it is.
  blended[0, 7, 9] = blended[0, 12, 12] = (10, 200, 255)
  np.testing.assert_array_equal(blended, backgrounds)
  # (N, 28, 28, 1) digits are blended the same.
  np.testing.assert_array_equal(
    textured_mnist.blend(digits[..., None], backgrounds), textured_mnist.blend(digits, backgrounds)
  )


def test_the_padding_is_two_black_pixels():
  for digits in (np.full((2, 28, 28), 255, np.uint8), np.full((2, 28, 28, 1), 255, np.uint8)):
    padded = textured_mnist.pad_digits(digits)
    assert padded.shape == (2, 32, 32, 1) and padded.dtype == np.uint8
    assert (padded[:, 2:30, 2:30] == 255).all()
    assert padded.sum() == 2 * 28 * 28 * 255  # Everything else is 0.


def test_load_split_serves_floats(data_dir, splits):
  images, labels = data.load_split('mnist2textured', split='testB', data_dir=data_dir)
  assert images.shape == (10_000, 32, 32, 3) and images.dtype == np.float32
  # Every 50th image: comparing all would cost more than the conversion.
  np.testing.assert_array_equal(images[::50], transforms.to_float(splits['testB']['image'][::50]))
  np.testing.assert_array_equal(labels, splits['testB']['label'])


@pytest.mark.parametrize('split', ['train', 'test', 'trainA[:10%]', 'trainC'])
def test_an_unknown_split_is_a_clear_error(data_dir, split):
  expected = "splits \\['trainA', 'trainB', 'testA', 'testB'\\], not"
  with pytest.raises(ValueError, match=expected) as error:
    sources.open_source(data.MNIST2TEXTURED, split=split, data_dir=data_dir)
  assert '\n' not in str(error.value)
  with pytest.raises(ValueError, match=expected):
    data.load_split(data.MNIST2TEXTURED, split=split, data_dir=data_dir)


def test_the_name_is_exported():
  assert data.MNIST2TEXTURED == sources.MNIST2TEXTURED == 'mnist2textured'
