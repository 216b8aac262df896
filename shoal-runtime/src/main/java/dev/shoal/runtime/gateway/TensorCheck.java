package dev.shoal.runtime.gateway;

import dev.shoal.model.DType;

/**
 * Checks an input tensor's name, type and shape as soon as a decoder knows them, before any of its
 * data is decoded or allocated: a request that cannot run is refused without paying for its data.
 */
@FunctionalInterface
interface TensorCheck {

  /** Accepts everything: the decoder's own limits still apply. */
  TensorCheck NONE = (name, dtype, shape) -> {};

  /** @throws dev.shoal.runtime.serving.InferenceException if the tensor cannot be accepted */
  void check(String name, DType dtype, long[] shape);
}
