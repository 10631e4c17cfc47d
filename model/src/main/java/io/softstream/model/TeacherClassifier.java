package io.softstream.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Small CNN classifier whose stride-4 feature map serves as fixed patch features for representation
 * alignment, and later as a judge of generated images.
 *
 * <p>{@code conv1 3x3/1 (C->w) -> ReLU -> conv2 3x3/2 (w->2w) -> ReLU -> conv3 3x3/2 (2w->3w) ->
 * ReLU} gives features {@code [B, (H/4)*(W/4), 3w]} in raster order (one per 4x4 patch); their mean
 * over positions -> {@code head} Linear(3w, classes). Output {@code NDList(logits [B, classes],
 * features)}.
 *
 * <p>A deeper variant ({@code depth > 3}, used by the generation judge {@code models/fmnist-judge})
 * adds {@code depth - 3} residual blocks {@code x + ReLU(conv 3x3/1 (3w->3w))} on the stride-4 grid
 * (children {@code conv4, conv5, ...}), widening each feature's receptive field from 9 pixels to
 * the whole garment; the features are then those of the last block. {@code depth = 3} is the
 * original teacher, parameter for parameter.
 */
public final class TeacherClassifier extends AbstractBlock {
  private static final byte VERSION = 1;

  private final int width;
  private final Conv2d conv1;
  private final Conv2d conv2;
  private final Conv2d conv3;
  private final java.util.List<Conv2d> extra = new java.util.ArrayList<>();
  private final Linear head;

  /** Creates a classifier with base width {@code width} and {@code classes} outputs (depth 3). */
  public TeacherClassifier(int width, int classes) {
    this(width, classes, 3);
  }

  /**
   * Creates a classifier with {@code depth - 3} extra residual conv blocks on the stride-4 grid.
   */
  public TeacherClassifier(int width, int classes, int depth) {
    super(VERSION);
    if (depth < 3) {
      throw new IllegalArgumentException("depth must be >= 3, got " + depth);
    }
    this.width = width;
    conv1 = addChildBlock("conv1", conv(width, 1));
    conv2 = addChildBlock("conv2", conv(2 * width, 2));
    conv3 = addChildBlock("conv3", conv(3 * width, 2));
    for (int i = 4; i <= depth; i++) {
      extra.add(addChildBlock("conv" + i, conv(3 * width, 1)));
    }
    head = addChildBlock("head", Linear.builder().setUnits(classes).build());
  }

  /** Number of conv layers (3 + extra residual blocks). */
  public int depth() {
    return 3 + extra.size();
  }

  private static Conv2d conv(int filters, int stride) {
    return Conv2d.builder()
        .setKernelShape(new Shape(3, 3))
        .setFilters(filters)
        .optStride(new Shape(stride, stride))
        .optPadding(new Shape(1, 1))
        .build();
  }

  /** Channels of the first conv layer. */
  public int width() {
    return width;
  }

  /** Feature dimension per patch (3 * width). */
  public int featureDim() {
    return 3 * width;
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray x = inputs.singletonOrThrow();
    x = Activation.relu(conv1.forward(ps, new NDList(x), training).singletonOrThrow());
    x = Activation.relu(conv2.forward(ps, new NDList(x), training).singletonOrThrow());
    x = Activation.relu(conv3.forward(ps, new NDList(x), training).singletonOrThrow());
    for (Conv2d c : extra) {
      x = x.add(Activation.relu(c.forward(ps, new NDList(x), training).singletonOrThrow()));
    }
    Shape s = x.getShape();
    NDArray feats = x.reshape(s.get(0), s.get(1), s.get(2) * s.get(3)).transpose(0, 2, 1);
    NDArray logits =
        head.forward(ps, new NDList(feats.mean(new int[] {1})), training).singletonOrThrow();
    return new NDList(logits, feats);
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    Shape in = inputShapes[0];
    conv1.initialize(manager, dataType, in);
    Shape s1 = conv1.getOutputShapes(new Shape[] {in})[0];
    conv2.initialize(manager, dataType, s1);
    Shape s2 = conv2.getOutputShapes(new Shape[] {s1})[0];
    conv3.initialize(manager, dataType, s2);
    Shape s3 = conv3.getOutputShapes(new Shape[] {s2})[0];
    for (Conv2d c : extra) {
      c.initialize(manager, dataType, s3);
    }
    head.initialize(manager, dataType, new Shape(in.get(0), featureDim()));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    Shape in = inputShapes[0];
    long b = in.get(0);
    return new Shape[] {
      new Shape(b, head.getOutputShapes(new Shape[] {new Shape(b, featureDim())})[0].get(1)),
      new Shape(b, (in.get(2) / 4) * (in.get(3) / 4), featureDim())
    };
  }
}
