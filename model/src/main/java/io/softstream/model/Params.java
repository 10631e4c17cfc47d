package io.softstream.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;

/** Helpers for raw (non-Linear) parameters such as position embeddings and codebooks. */
final class Params {
  private Params() {}

  static Parameter raw(String name, Shape shape, Initializer init) {
    return Parameter.builder()
        .setName(name)
        .setType(Parameter.Type.OTHER)
        .optShape(shape)
        .optInitializer(init)
        .build();
  }

  /**
   * A differentiable copy of a parameter owned by {@code manager}. DJL puts an op's result in the
   * first operand's manager, so ops that start from a parameter would otherwise leak arrays into
   * the model's manager on every inference call.
   */
  static NDArray local(ParameterStore ps, Parameter p, NDManager manager, boolean training) {
    NDArray v = ps.getValue(p, manager.getDevice(), training);
    return manager.zeros(v.getShape(), v.getDataType()).add(v);
  }
}
