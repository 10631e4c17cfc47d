package io.softstream.trainer.generator;

import java.nio.file.Path;

/**
 * One generator training run.
 *
 * @param tokenizerDir tokenizer whose encoder makes the training latents (and whose decoder will
 *     decode samples)
 * @param dataDir Fashion-MNIST IDX folder
 * @param outDir where the generator directory is written
 * @param name model name in the card
 * @param hidden transformer width
 * @param depth adaLN-Zero blocks
 * @param heads attention heads
 * @param mlpRatio MLP width / hidden
 * @param numClasses classes (10 for Fashion-MNIST)
 * @param steps optimiser steps
 * @param batchSize images per step
 * @param lr peak learning rate
 * @param minLr final learning rate of the cosine schedule
 * @param warmupSteps linear warm-up steps
 * @param weightDecay AdamW decoupled weight decay (weights only)
 * @param emaDecay EMA decay of the saved weights (0 = none)
 * @param gradClip global gradient-norm clip (0 = none)
 * @param labelDrop probability of replacing a label by the null class
 * @param seed seed of initialisation, batch order and noise
 * @param trainLimit use the first this-many training images (0 = all 60 000)
 * @param encodeBatch images per tokenizer forward pass when encoding the data set
 * @param logEvery steps between progress lines
 */
public record GeneratorTrainConfig(
    Path tokenizerDir,
    Path dataDir,
    Path outDir,
    String name,
    int hidden,
    int depth,
    int heads,
    int mlpRatio,
    int numClasses,
    int steps,
    int batchSize,
    float lr,
    float minLr,
    int warmupSteps,
    float weightDecay,
    float emaDecay,
    float gradClip,
    float labelDrop,
    long seed,
    int trainLimit,
    int encodeBatch,
    int logEvery) {

  /** Checks the values. */
  public GeneratorTrainConfig {
    if (steps < 1 || batchSize < 1 || encodeBatch < 1 || logEvery < 1 || warmupSteps < 0) {
      throw new IllegalArgumentException(
          "steps, batch_size, encode_batch, log_every must be >= 1 and warmup >= 0");
    }
    if (!(lr > 0) || minLr < 0 || minLr > lr) {
      throw new IllegalArgumentException(
          "need 0 <= min_lr <= lr and lr > 0, got lr " + lr + " min_lr " + minLr);
    }
    if (emaDecay < 0 || emaDecay >= 1 || labelDrop < 0 || labelDrop >= 1) {
      throw new IllegalArgumentException("ema_decay and label_drop must be in [0, 1)");
    }
  }

  /**
   * The default Fashion-MNIST run: width 128, depth 4, 4 heads, MLP x4 (1.3 M parameters), batch
   * 128. Sized for CPUs: one step takes about 0.6 s on one thread of this project's build machine.
   */
  public static GeneratorTrainConfig fashionMnist(
      Path tokenizerDir, Path dataDir, Path outDir, int steps) {
    return new GeneratorTrainConfig(
        tokenizerDir,
        dataDir,
        outDir,
        "gen-fmnist-32",
        128,
        4,
        4,
        4,
        10,
        steps,
        128,
        3e-4f,
        3e-5f,
        Math.min(500, steps / 10),
        0f,
        0.999f,
        1f,
        0.1f,
        0,
        0,
        250,
        50);
  }

  /** A tiny run for tests. */
  public static GeneratorTrainConfig tiny(Path tokenizerDir, Path dataDir, Path outDir, int steps) {
    return new GeneratorTrainConfig(
        tokenizerDir,
        dataDir,
        outDir,
        "tiny-gen",
        16,
        1,
        2,
        2,
        10,
        steps,
        16,
        3e-3f,
        3e-4f,
        2,
        0f,
        0.9f,
        1f,
        0.1f,
        5,
        64,
        32,
        5);
  }
}
