package io.softstream.worker.generation;

import io.softstream.model.TokenizerConfig;
import io.softstream.model.generator.GeneratorRuntime;
import io.softstream.model.generator.Sampler;
import io.softstream.model.image.ImageTranslator;
import io.softstream.model.runtime.TokenizerRuntime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous batching of flow-matching steps, on one thread of its own (the only one that touches
 * the generator and the decoder): requests submitted while others are mid-sampling join at the next
 * step, and each leaves as soon as its last step is done (its images decoded and its future
 * completed). Every step of every image in flight is one row of one forward pass, each at its own
 * time, label and guidance (see {@link Sampler#step}), so a request's images do not depend on which
 * requests shared its steps.
 *
 * <p>Admission stops at {@code maxImages} images in flight (a single larger request still runs,
 * alone), and while a model swap is pending: once the requests in flight have left, {@code serving}
 * is asked for the pair to use next. With {@code continuous} off a set of requests runs to its end
 * before the next is admitted (static batching, for comparison).
 */
public final class ContinuousBatching implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ContinuousBatching.class);

  /** The generator and decoder pair that serves, with the names written into records. */
  public record Serving(
      GeneratorRuntime generator,
      String generatorModel,
      TokenizerRuntime decoder,
      String decoderModel) {}

  /** What a request made, and with which models. */
  public record Result(
      List<ImageGeneration.Image> images, String generatorModel, String decoderModel) {}

  private record Job(
      int[] labels, long[] seeds, Sampler.Settings settings, CompletableFuture<Result> done) {}

  private record Running(Job job, List<Sampler.Trajectory> trajectories) {}

  private final int maxImages;
  private final boolean continuous;
  private final Supplier<Serving> serving;
  private final BooleanSupplier swapPending;
  private final Consumer<Integer> stepped;
  private final ArrayDeque<Job> queue = new ArrayDeque<>();
  private final Thread thread;
  private volatile boolean closed;

  /**
   * Starts the sampling thread.
   *
   * @param serving the pair to serve with; called on the sampling thread when nothing is in flight
   * @param swapPending true while a newer pair waits to serve (no request is admitted then)
   * @param stepped told the rows of each forward pass (for metrics and tests)
   */
  public ContinuousBatching(
      String name,
      int maxImages,
      boolean continuous,
      Supplier<Serving> serving,
      BooleanSupplier swapPending,
      Consumer<Integer> stepped) {
    this.maxImages = maxImages;
    this.continuous = continuous;
    this.serving = serving;
    this.swapPending = swapPending;
    this.stepped = stepped;
    this.thread = new Thread(this::run, name);
    this.thread.setDaemon(true);
    this.thread.start();
  }

  /**
   * Queues a request's images; the future completes with them (in order), or with the exception
   * that stopped their sampling or decoding.
   */
  public CompletableFuture<Result> submit(int[] labels, long[] seeds, Sampler.Settings settings) {
    CompletableFuture<Result> f = new CompletableFuture<>();
    synchronized (queue) {
      if (closed) {
        f.completeExceptionally(new IllegalStateException("generation sampler is closed"));
        return f;
      }
      queue.add(new Job(labels, seeds, settings, f));
      queue.notifyAll();
    }
    return f;
  }

  private void run() {
    List<Running> active = new ArrayList<>();
    Serving pair = null;
    int inFlight = 0;
    while (!closed) {
      try {
        synchronized (queue) {
          while (active.isEmpty() && queue.isEmpty() && !closed) {
            queue.wait();
          }
          if (closed) {
            break;
          }
        }
        if (active.isEmpty()) {
          pair = serving.get(); // between requests: a swap takes effect here
        }
        if ((continuous || active.isEmpty()) && (active.isEmpty() || !swapPending.getAsBoolean())) {
          synchronized (queue) {
            while (!queue.isEmpty()
                && (active.isEmpty() || inFlight + queue.peek().labels().length <= maxImages)) {
              Job j = queue.poll();
              List<Sampler.Trajectory> ts = new ArrayList<>(j.labels().length);
              try {
                for (int i = 0; i < j.labels().length; i++) {
                  ts.add(pair.generator().start(j.labels()[i], j.seeds()[i], j.settings()));
                }
              } catch (RuntimeException e) {
                j.done().completeExceptionally(e);
                continue;
              }
              active.add(new Running(j, ts));
              inFlight += ts.size();
            }
          }
        }
        if (active.isEmpty()) {
          continue;
        }
        List<Sampler.Trajectory> rows = new ArrayList<>(inFlight);
        active.forEach(r -> rows.addAll(r.trajectories()));
        try {
          for (int from = 0; from < rows.size(); from += maxImages) {
            List<Sampler.Trajectory> chunk =
                rows.subList(from, Math.min(rows.size(), from + maxImages));
            pair.generator().step(chunk);
            stepped.accept(chunk.size());
          }
          for (Iterator<Running> it = active.iterator(); it.hasNext(); ) {
            Running r = it.next();
            if (r.trajectories().stream().allMatch(Sampler.Trajectory::done)) {
              it.remove();
              inFlight -= r.trajectories().size();
              r.job().done().complete(decode(pair, r.trajectories()));
            }
          }
        } catch (RuntimeException e) {
          // The engine failed: every request in flight fails with it (their batches are retried).
          log.warn("Generation sampling failed for {} requests: {}", active.size(), e.toString());
          active.forEach(r -> r.job().done().completeExceptionally(e));
          active.clear();
          inFlight = 0;
        }
      } catch (InterruptedException e) {
        break;
      } catch (RuntimeException e) {
        // The pair could not be taken: fail what waits, keep serving later requests.
        log.warn("Generation serving failed: {}", e.toString());
        synchronized (queue) {
          queue.forEach(j -> j.done().completeExceptionally(e));
          queue.clear();
        }
        active.forEach(r -> r.job().done().completeExceptionally(e));
        active.clear();
        inFlight = 0;
      }
    }
    IllegalStateException stopped = new IllegalStateException("generation sampler is closed");
    active.forEach(r -> r.job().done().completeExceptionally(stopped));
    synchronized (queue) {
      queue.forEach(j -> j.done().completeExceptionally(stopped));
      queue.clear();
    }
  }

  /** Decodes a finished request's images, at most {@code maxImages} per pass. */
  private Result decode(Serving pair, List<Sampler.Trajectory> ts) {
    TokenizerConfig c = pair.decoder().config();
    int per = c.tokens() * c.codeDim();
    int pixels = c.channels() * c.imageSize() * c.imageSize();
    List<ImageGeneration.Image> images = new ArrayList<>(ts.size());
    for (int from = 0; from < ts.size(); from += maxImages) {
      int n = Math.min(maxImages, ts.size() - from);
      float[] tokens = new float[n * per];
      for (int i = 0; i < n; i++) {
        System.arraycopy(pair.generator().tokens(ts.get(from + i)), 0, tokens, i * per, per);
      }
      float[] px = pair.decoder().decode(tokens, n);
      for (int i = 0; i < n; i++) {
        images.add(
            new ImageGeneration.Image(
                ImageTranslator.toImage(px, i * pixels, c.channels(), c.imageSize()),
                Arrays.copyOfRange(tokens, i * per, (i + 1) * per)));
      }
    }
    return new Result(images, pair.generatorModel(), pair.decoderModel());
  }

  /** Stops the thread; requests still queued or in flight fail. */
  @Override
  public void close() {
    synchronized (queue) {
      closed = true;
      queue.notifyAll();
    }
    try {
      thread.join(30_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
