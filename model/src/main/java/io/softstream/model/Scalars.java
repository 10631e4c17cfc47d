package io.softstream.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;

/**
 * Arithmetic with a constant inside a graph that is differentiated.
 *
 * <p>DJL's PyTorch {@code x.div(0.07f)} (and {@code mul}, {@code maximum}, {@code swish}) makes the
 * constant a tensor over a Java direct buffer (torch {@code from_blob}, no copy) and closes it as
 * soon as the op returns. Autograd keeps that tensor for the backward pass; once the garbage
 * collector frees the buffer and the memory is reused, the gradient is computed with whatever lies
 * there. Photo fine-tunes saw this as non-finite or 1e24-sized encoder gradients at random steps
 * (the same batch gave NaN, then a normal norm on a second try), a quarter to a half of the steps
 * with two torch threads. These constants are PyTorch's own ({@code torch::full}), so the saved
 * tensor keeps its memory.
 */
public final class Scalars {
  private Scalars() {}

  /** A 0-d float32 constant whose storage PyTorch owns. */
  private static NDArray of(NDManager manager, double value) {
    return manager.full(new Shape(), (float) value);
  }

  /** {@code x * value}. */
  public static NDArray mul(NDArray x, double value) {
    return x.mul(of(x.getManager(), value));
  }

  /** {@code x / value}. */
  public static NDArray div(NDArray x, double value) {
    return x.div(of(x.getManager(), value));
  }

  /** Element-wise {@code max(x, value)}. */
  public static NDArray maximum(NDArray x, double value) {
    return x.maximum(of(x.getManager(), value));
  }

  /** SiLU (swish with beta 1), {@code x * sigmoid(x)}, without a scalar constant. */
  public static NDArray silu(NDArray x) {
    return x.mul(Activation.sigmoid(x));
  }
}
