"""Tests of translate.py's padding: any image size becomes one the generator takes, and back."""

import numpy as np
import pytest

from jaxgan.families.cyclegan import translation


@pytest.mark.parametrize(
  'size,padded', [((37, 45), (40, 48)), ((20, 13), (20, 16)), ((3, 5), (8, 8)), ((32, 32), (32, 32))]
)
def test_images_are_padded_at_the_bottom_and_right_to_multiples_of_4_of_at_least_8(size, padded):
  image = np.arange(size[0] * size[1] * 3).reshape(*size, 3)
  result = translation.pad_to_multiple(image)
  assert result.shape == (*padded, 3)
  np.testing.assert_array_equal(result[: size[0], : size[1]], image)  # Cropped back, the input.


def test_padding_reflects_the_image_where_it_can():
  row = np.asarray([1, 2, 3, 4, 5])[None, :, None]  # 8x5: 5 -> 8 columns.
  result = translation.pad_to_multiple(np.repeat(row, 8, axis=0))
  np.testing.assert_array_equal(result[0, :, 0], [1, 2, 3, 4, 5, 4, 3, 2])
  # Too small to reflect (1 row padded by 7): the edge repeats.
  np.testing.assert_array_equal(translation.pad_to_multiple(row)[:, 0, 0], [1] * 8)


def test_outputs_are_pngs_at_the_inputs_relative_paths():
  assert translation.output_name('horses/h1.jpg') == 'horses/h1.png'
  assert translation.output_name('a.b.JPEG') == 'a.b.png'
