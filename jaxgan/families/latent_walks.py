"""Walks through a latent space, for interpolation videos: keyframes and the frames between.

A walk visits `num_keyframes` random latents in turn and comes back to the
first, so that the video loops; `frames_per_keyframe` frames lead from each
keyframe to the next. A family's `interpolation_inputs` draws the keyframes
and interpolates them its own way (`walk`: spherically in a Gaussian z).
"""

import jax
import numpy as np

# Folded into the seed for the keyframes, apart from every other stream.
_WALK_STREAM = 0x3A1C


def keyframe_positions(
  num_keyframes: int, frames_per_keyframe: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Where each frame of a looping walk lies: (from keyframe, to keyframe, t in [0, 1)).

  Frame f lies between keyframe f // n and the next (the first after the
  last) at t = (f % n) / n, for n = frames_per_keyframe; the walk has
  num_keyframes * n frames and frame 0 is keyframe 0 itself.

  Raises:
    ValueError: for fewer than 2 keyframes or 1 frame per keyframe.
  """
  if num_keyframes < 2 or frames_per_keyframe < 1:
    raise ValueError(
      f'A walk takes at least 2 keyframes and 1 frame per keyframe, got {num_keyframes} and '
      f'{frames_per_keyframe} (e.g. --keyframes=4 --frames_per_keyframe=12).'
    )
  frame = np.arange(num_keyframes * frames_per_keyframe)
  start = frame // frames_per_keyframe
  return start, (start + 1) % num_keyframes, (frame % frames_per_keyframe) / frames_per_keyframe


def keyframe_latents(seed: int, walks: int, num_keyframes: int, latent_dim: int) -> np.ndarray:
  """Gaussian keyframes (walks, num_keyframes, latent_dim), the same for a seed every time."""
  key = jax.random.fold_in(jax.random.key(seed), _WALK_STREAM)
  return np.asarray(jax.random.normal(key, (walks, num_keyframes, latent_dim)), np.float32)


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
  """Spherical interpolation from a to b (..., D) at t (...,), along the great circle.

  A Gaussian latent's norm concentrates near sqrt(D); a straight line
  between two latents passes through norms G never saw in training, a great
  circle does not (White 2016, "Sampling generative networks"). The norm
  itself is interpolated linearly. Nearly parallel pairs fall back to a
  straight line.
  """
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  t = np.asarray(t, np.float64)[..., None]
  norm_a = np.linalg.norm(a, axis=-1, keepdims=True)
  norm_b = np.linalg.norm(b, axis=-1, keepdims=True)
  cos = np.clip(np.sum(a * b, -1, keepdims=True) / (norm_a * norm_b), -1.0, 1.0)
  omega = np.arccos(cos)
  sin = np.sin(omega)
  parallel = sin < 1e-6
  safe = np.where(parallel, 1.0, sin)
  direction = np.where(
    parallel,
    (1 - t) * a / norm_a + t * b / norm_b,
    (np.sin((1 - t) * omega) * a / norm_a + np.sin(t * omega) * b / norm_b) / safe,
  )
  return ((1 - t) * norm_a + t * norm_b) * direction


def walk(
  seed: int, walks: int, num_keyframes: int, frames_per_keyframe: int, latent_dim: int
) -> np.ndarray:
  """Spherically interpolated Gaussian latents, (walks * frames, latent_dim), walk by walk."""
  keyframes = keyframe_latents(seed, walks, num_keyframes, latent_dim)
  start, end, t = keyframe_positions(num_keyframes, frames_per_keyframe)
  path = slerp(keyframes[:, start], keyframes[:, end], np.broadcast_to(t, (walks, t.size)))
  return path.reshape(-1, latent_dim).astype(np.float32)
