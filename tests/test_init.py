"""Tests of what importing jaxgan checks."""

import jaxgan


def test_jax_versions_that_train_wrong_are_named_and_refused():
  assert jaxgan._version('0.7.2') < jaxgan._FIRST_RIGHT_JAX
  assert jaxgan._version('0.8.0') < jaxgan._FIRST_RIGHT_JAX
  assert jaxgan._version('0.8.3') >= jaxgan._FIRST_RIGHT_JAX
  assert jaxgan._version('0.10.2.dev20260101') >= jaxgan._FIRST_RIGHT_JAX
