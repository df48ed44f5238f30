"""Tests of jaxgan/families/latent_walks.py: where frames lie, and the spherical interpolation."""

import numpy as np
import pytest

from jaxgan.families import latent_walks


def test_frames_walk_from_each_keyframe_to_the_next_and_back_to_the_first():
  start, end, t = latent_walks.keyframe_positions(3, 2)
  np.testing.assert_array_equal(start, [0, 0, 1, 1, 2, 2])
  np.testing.assert_array_equal(end, [1, 1, 2, 2, 0, 0])
  np.testing.assert_allclose(t, [0, 0.5, 0, 0.5, 0, 0.5])


@pytest.mark.parametrize('keyframes,frames', [(1, 4), (3, 0)])
def test_a_walk_needs_two_keyframes_and_a_frame_each(keyframes, frames):
  with pytest.raises(ValueError, match='at least 2 keyframes and 1 frame'):
    latent_walks.keyframe_positions(keyframes, frames)


def test_slerp_follows_the_great_circle_and_scales_the_norm_linearly():
  a, b = np.array([2.0, 0.0, 0.0]), np.array([0.0, 4.0, 0.0])
  np.testing.assert_allclose(latent_walks.slerp(a, b, np.array(0.0)), a, atol=1e-12)
  np.testing.assert_allclose(latent_walks.slerp(a, b, np.array(1.0)), b, atol=1e-12)
  # A third of the way: 30 degrees round from a, norm 2 + (4 - 2) / 3.
  third = latent_walks.slerp(a, b, np.array(1 / 3))
  np.testing.assert_allclose(third, 8 / 3 * np.array([np.cos(np.pi / 6), np.sin(np.pi / 6), 0]))
  # Halfway, the straight line's point (1, 2, 0) has norm 2.24; slerp's has the norms' mean, 3.
  middle = latent_walks.slerp(a, b, np.array(0.5))
  np.testing.assert_allclose(np.linalg.norm(middle), 3.0)
  assert np.linalg.norm((a + b) / 2) < 2.3


def test_slerp_of_parallel_latents_is_the_straight_line():
  a = np.array([[1.0, 1.0]])
  np.testing.assert_allclose(latent_walks.slerp(a, 3 * a, np.array([0.25])), 1.5 * a, rtol=1e-12)


def test_walks_start_at_their_keyframes_and_are_fixed_by_the_seed():
  path = latent_walks.walk(seed=3, walks=2, num_keyframes=3, frames_per_keyframe=4, latent_dim=5)
  keyframes = latent_walks.keyframe_latents(3, 2, 3, 5)
  assert path.shape == (2 * 12, 5) and path.dtype == np.float32
  walks = path.reshape(2, 12, 5)
  np.testing.assert_allclose(walks[:, ::4], keyframes, rtol=1e-6)
  np.testing.assert_array_equal(path, latent_walks.walk(3, 2, 3, 4, 5))
  assert not np.allclose(path, latent_walks.walk(4, 2, 3, 4, 5))
