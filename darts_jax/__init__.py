"""darts_jax: differentiable architecture search in JAX and Flax NNX."""
