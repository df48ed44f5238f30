"""Tests for jaxgan.data.transforms: each transform against a known answer."""

import numpy as np
import pytest

from jaxgan.data import transforms


def _ramp(height: int, width: int, channels: int = 3) -> np.ndarray:
  """uint8 image whose pixel (y, x, c) is (7 y + 3 x + 50 c) mod 256: every pixel tells where it was."""
  y, x, c = np.meshgrid(np.arange(height), np.arange(width), np.arange(channels), indexing='ij')
  return ((7 * y + 3 * x + 50 * c) % 256).astype(np.uint8)


def test_to_channels_gray_is_the_luma_formula():
  # L = 0.299 R + 0.587 G + 0.114 B, rounded (no pixel here is near a .5 tie).
  pixels = np.array(
    [[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30], [255, 255, 255]]], np.uint8
  )
  gray = transforms.to_channels(pixels, 1)
  assert gray.shape == (1, 5, 1) and gray.dtype == np.uint8
  np.testing.assert_array_equal(gray[0, :, 0], [76, 150, 29, 18, 255])


def test_to_channels_rgb_repeats_gray_and_drops_alpha():
  gray = _ramp(4, 5, 1)
  rgb = transforms.to_channels(gray, 3)
  assert rgb.shape == (4, 5, 3)
  for c in range(3):
    np.testing.assert_array_equal(rgb[..., c], gray[..., 0])
  rgba = np.concatenate([_ramp(4, 5), np.full((4, 5, 1), 7, np.uint8)], axis=-1)
  np.testing.assert_array_equal(transforms.to_channels(rgba, 3), _ramp(4, 5))
  # 0, or the channels the image already has, change nothing.
  assert transforms.to_channels(gray, 0) is gray
  assert transforms.to_channels(rgb, 3) is rgb


@pytest.mark.parametrize(
  'shape, size, expected',
  [
    ((53, 37), 32, (46, 32)),  # 53 * 32 / 37 = 45.8
    ((61, 90), 32, (32, 47)),  # 90 * 32 / 61 = 47.2
    ((4, 9), 2, (2, 5)),  # 4.5 rounds up
    ((218, 178), 64, (78, 64)),  # CelebA's aligned images
    ((30, 30), 64, (64, 64)),  # upsampling too
  ],
)
def test_resized_size(shape, size, expected):
  assert transforms.resized_size(*shape, size) == expected
  image = np.zeros((*shape, 3), np.uint8)
  assert transforms.resize_shorter_side(image, size).shape == (*expected, 3)


def test_resize_keeps_a_linear_ramp_and_constants():
  # Halving a ramp 10 x: output column j covers input columns 2j and 2j+1,
  # centred at x = 2j + 0.5, where the ramp is 20 j + 5. A cubic filter
  # reproduces linear functions away from the borders.
  ramp = np.tile((10 * np.arange(16)).astype(np.uint8), (16, 1))[..., None]
  half = transforms.resize_shorter_side(ramp, 8)
  assert half.shape == (8, 8, 1)
  np.testing.assert_allclose(half[4, 2:6, 0], 20 * np.arange(2, 6) + 5, atol=1)
  constant = np.full((20, 30, 3), 91, np.uint8)
  np.testing.assert_array_equal(transforms.resize_shorter_side(constant, 7), 91)


def test_resize_is_antialiased():
  # Columns alternating 0 and 255, halved: an antialiased filter averages
  # each pair to mid-gray; sampling without a low-pass filter would keep
  # 0 or 255 and alias.
  stripes = np.tile(np.array([0, 255], np.uint8), (32, 16))[..., None]
  half = transforms.resize_shorter_side(stripes, 16)
  np.testing.assert_allclose(half[4:-4, 4:-4], 127.5, atol=3)


def test_resize_to_the_same_size_is_the_identity():
  image = _ramp(40, 50)
  assert transforms.resize_shorter_side(image, 40) is image


def test_center_crop():
  image = _ramp(5, 7)
  np.testing.assert_array_equal(transforms.center_crop(image, 3), image[1:4, 2:5])
  # An odd margin leaves the extra pixel at the bottom and right.
  np.testing.assert_array_equal(transforms.center_crop(_ramp(6, 6), 3), _ramp(6, 6)[1:4, 1:4])
  with pytest.raises(ValueError, match='A 6x6 crop does not fit in a 5x7 image'):
    transforms.center_crop(image, 6)


def test_pad_centres_the_image_on_black_and_center_crop_undoes_it():
  image = _ramp(5, 6) + 1  # No zero inside, so the border shows.
  padded = transforms.pad_to(image, 8)
  assert padded.shape == (8, 8, image.shape[-1]) and padded.dtype == image.dtype
  # Margins 3 rows (1 above, 2 below) and 2 columns (1 each side).
  np.testing.assert_array_equal(padded[1:6, 1:7], image)
  assert padded.sum() == image.sum()
  # MNIST's 28x28 at 32 and back; an image of the pad's size is unchanged.
  digit = _ramp(28, 28)
  np.testing.assert_array_equal(transforms.center_crop(transforms.pad_to(digit, 32), 28), digit)
  np.testing.assert_array_equal(transforms.pad_to(digit, 28), digit)
  with pytest.raises(ValueError, match='A 5x6 image does not fit in a 4x4 pad'):
    transforms.pad_to(image, 4)


def test_random_crop_takes_every_place_uniformly():
  image = _ramp(5, 6)
  counts = np.zeros((3, 4), int)
  for seed in range(1200):
    crop = transforms.random_crop(image, 3, np.random.default_rng(seed))
    # The draws, as documented: the top row, then the left column.
    rng = np.random.default_rng(seed)
    top, left = rng.integers(3), rng.integers(4)
    np.testing.assert_array_equal(crop, image[top : top + 3, left : left + 3])
    counts[top, left] += 1
  assert counts.min() > 0.5 * 100 and counts.max() < 1.5 * 100
  with pytest.raises(ValueError, match='does not fit'):
    transforms.random_crop(image, 6, np.random.default_rng(0))


def test_random_flip_mirrors_half_the_time():
  image = _ramp(3, 4)
  flipped = 0
  for seed in range(1000):
    out = transforms.random_flip(image, np.random.default_rng(seed))
    if np.random.default_rng(seed).random() < 0.5:
      np.testing.assert_array_equal(out, image[:, ::-1])
      flipped += 1
    else:
      np.testing.assert_array_equal(out, image)
  assert 450 < flipped < 550


def test_apply_order_channels_resize_crop_flip():
  image = _ramp(53, 37)
  options = transforms.Transforms(channels=1, resize=32, center_crop=30, flip=True)
  for seed in range(8):
    got = transforms.apply(image, options, np.random.default_rng(seed))
    expected = transforms.center_crop(
      transforms.resize_shorter_side(transforms.to_channels(image, 1), 32), 30
    )
    if np.random.default_rng(seed).random() < 0.5:  # The flip's coin comes first.
      expected = expected[:, ::-1]
    np.testing.assert_array_equal(got, expected)
    assert got.flags.c_contiguous


def test_crop_and_flip_draws_do_not_depend_on_each_other():
  image = _ramp(20, 20)
  crop_only = transforms.Transforms(random_crop=8)
  both = transforms.Transforms(random_crop=8, flip=True)
  flip_only = transforms.Transforms(flip=True)
  for seed in range(20):
    crop = transforms.apply(image, crop_only, np.random.default_rng(seed))
    crop_and_flip = transforms.apply(image, both, np.random.default_rng(seed))
    flipped = not np.array_equal(
      transforms.apply(image, flip_only, np.random.default_rng(seed)), image
    )
    np.testing.assert_array_equal(crop_and_flip, crop[:, ::-1] if flipped else crop)


def test_apply_pads_after_the_crop_and_before_the_flip():
  image = _ramp(20, 20) + 1
  options = transforms.Transforms(random_crop=8, pad=12, flip=True)
  for seed in range(8):
    got = transforms.apply(image, options, np.random.default_rng(seed))
    crop = transforms.apply(
      image, transforms.Transforms(random_crop=8), np.random.default_rng(seed)
    )
    expected = transforms.pad_to(crop, 12)
    if np.random.default_rng(seed).random() < 0.5:
      expected = expected[:, ::-1]
    np.testing.assert_array_equal(got, expected)


def test_apply_without_transforms_is_the_identity():
  image = _ramp(9, 11)
  np.testing.assert_array_equal(transforms.apply(image, transforms.Transforms(), None), image)


def test_example_rng_depends_on_seed_epoch_and_index_only():
  def draw(*key):
    return transforms.example_rng(*key).integers(2**32, size=4).tolist()

  assert draw(1, 2, 3) == draw(1, 2, 3)
  keys = [(s, e, i) for s in range(3) for e in range(3) for i in range(3)]
  assert len({tuple(draw(*key)) for key in keys}) == len(keys)
  # Never the stream of an epoch's permutation, SeedSequence([seed, epoch]).
  for seed, epoch in [(1, 2), (0, 0)]:
    permutation_stream = np.random.default_rng(np.random.SeedSequence([seed, epoch]))
    assert draw(seed, epoch, 0) != permutation_stream.integers(2**32, size=4).tolist()


@pytest.mark.parametrize(
  'options, message',
  [
    (
      transforms.Transforms(center_crop=32, random_crop=32),
      r'config\.data\.center_crop=32 and config\.data\.random_crop=32 are both set',
    ),
    (transforms.Transforms(resize=-1), r'config\.data\.resize=-1 must be a non-negative'),
    (transforms.Transforms(channels=2), r'config\.data\.channels=2 must be 1'),
    (transforms.Transforms(flip=1), r'config\.data\.flip=1 must be True or False'),
    (transforms.Transforms(pad=-2), r'config\.data\.pad=-2 must be a non-negative'),
  ],
)
def test_bad_settings_are_clear_errors(options, message):
  with pytest.raises(ValueError, match=message):
    options.check()


def test_output_shape():
  options = transforms.Transforms(resize=64, center_crop=64, channels=1)
  assert options.output_shape((218, 178, 3), where='celeb_a') == (64, 64, 1)
  assert transforms.Transforms(resize=32).output_shape((53, 37, 3), where='x') == (46, 32, 3)
  # A crop fixes the size of images that vary.
  assert transforms.Transforms(random_crop=8).output_shape((None, None, 3), where='x') == (8, 8, 3)
  # MNIST for a power-of-2 network; a crop, then a pad.
  assert transforms.Transforms(pad=32).output_shape((28, 28, 3), where='x') == (32, 32, 3)
  padded = transforms.Transforms(resize=64, center_crop=60, pad=64)
  assert padded.output_shape((None, None, 3), where='x') == (64, 64, 3)


def test_output_shape_errors_name_the_field():
  with pytest.raises(ValueError, match=r'config\.data\.center_crop=32 is larger than the 28x28'):
    transforms.Transforms(center_crop=32).output_shape((28, 28, 1), where='mnist')
  with pytest.raises(
    ValueError, match=r'config\.gen\.random_crop=40 is larger .* after config\.gen\.resize=32'
  ):
    transforms.Transforms(resize=32, random_crop=40).output_shape(
      (50, 60, 3), where='x', config_field='config.gen'
    )
  with pytest.raises(ValueError, match=r'images of different sizes; set config\.data\.center_crop'):
    transforms.Transforms(resize=64).output_shape((None, None, 3), where='x')
  with pytest.raises(
    ValueError, match=r'config\.data\.pad=16 is smaller than the 28x28 images of mnist'
  ):
    transforms.Transforms(pad=16).output_shape((28, 28, 1), where='mnist')


def test_to_float():
  images = np.array([0, 1, 127, 128, 254, 255], np.uint8)
  got = transforms.to_float(images)
  assert got.dtype == np.float32
  np.testing.assert_array_equal(got[[0, -1]], [-1.0, 1.0])
  np.testing.assert_allclose(got, images / 127.5 - 1, atol=1e-6)
