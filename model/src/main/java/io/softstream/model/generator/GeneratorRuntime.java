package io.softstream.model.generator;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import io.softstream.model.ModelCard;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * A loaded generator on the PyTorch engine that samples tokens into plain arrays, so callers (the
 * generation worker, the CLI, the evaluator) never see engine types. Not thread-safe: one per
 * thread.
 *
 * <pre>{@code
 * try (GeneratorRuntime g = GeneratorRuntime.open(Path.of("models/gen-fmnist-16"))) {
 *   float[] tokens = g.sample(new int[] {9, 9}, new long[] {1, 2}, Sampler.Settings.of(Sampler.Method.HEUN, 30, 4f));
 * }
 * }</pre>
 */
public final class GeneratorRuntime implements AutoCloseable {
  private final NDManager manager;
  private final ModelCard card;
  private final Generator generator;
  private final Sampler sampler;

  private GeneratorRuntime(NDManager manager, ModelCard card, Generator generator) {
    this.manager = manager;
    this.card = card;
    this.generator = generator;
    this.sampler = new Sampler(generator, new ParameterStore(manager, false));
  }

  /**
   * Opens the generator in {@code dir}.
   *
   * @throws IllegalArgumentException if {@code dir} is not a readable generator directory (the
   *     message says why)
   */
  public static GeneratorRuntime open(Path dir) {
    NDManager m = NDManager.newBaseManager("PyTorch");
    try {
      ModelCard card = GeneratorDir.readCard(dir);
      return new GeneratorRuntime(m, card, GeneratorDir.load(dir, m));
    } catch (MalformedModelException e) {
      m.close();
      throw new IllegalArgumentException(
          "Invalid generator directory " + dir + ": " + e.getMessage(), e);
    } catch (IOException e) {
      m.close();
      throw new UncheckedIOException("Cannot read generator " + dir + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
  }

  public ModelCard card() {
    return card;
  }

  public GeneratorConfig config() {
    return generator.config();
  }

  /** Samples de-normalised tokens {@code [B, N, d]} for {@code labels}, one seed per image. */
  public float[] sample(int[] labels, long[] seeds, Sampler.Settings settings) {
    return sampler.sample(manager, labels, seeds, settings);
  }

  /** A trajectory for one image, at t = 1 (see {@link Sampler#start}). */
  public Sampler.Trajectory start(int label, long seed, Sampler.Settings settings) {
    return sampler.start(label, seed, settings);
  }

  /**
   * One step of each unfinished trajectory, all in one forward pass (see {@link Sampler#step}).
   *
   * @return how many are still not done
   */
  public int step(java.util.List<Sampler.Trajectory> batch) {
    return sampler.step(manager, batch);
  }

  /** The de-normalised tokens {@code [N, d]} of a finished trajectory. */
  public float[] tokens(Sampler.Trajectory t) {
    return sampler.tokens(t);
  }

  @Override
  public void close() {
    manager.close();
  }
}
