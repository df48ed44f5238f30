"""jaxgan: the classic GAN family in JAX and Flax, written as pure functions."""
