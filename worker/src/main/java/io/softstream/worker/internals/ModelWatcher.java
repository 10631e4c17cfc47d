package io.softstream.worker.internals;

import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.models.ModelArtifacts;
import io.softstream.topology.models.ModelCatalog;
import io.softstream.topology.models.ModelRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the ACTIVE version of one model on the model-versions topic. On a new active version it
 * fetches the artifact, verifies its SHA-256, unpacks it, and hands the folder to {@code load} (which
 * opens a second engine instance, warms it up and self-checks it, all off the inference thread). Only
 * then does {@code onLoaded} receive it; the worker switches between batches. A failed fetch, bad
 * checksum or failed load leaves the current version serving; that announcement is not retried, and
 * the next one is acted on.
 */
public final class ModelWatcher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ModelWatcher.class);

  /** Opens a model folder, warms it up and self-checks it; throws if it must not serve. */
  public interface Loader<T> {
    T load(Path dir, ModelVersion version) throws Exception;
  }

  private final ModelCatalog catalog;
  private final ModelRegistry registry;
  private final String name;
  private final ModelKind kind;
  private final Path cacheDir;
  private final WorkerMetrics metrics;
  private final Set<String> failed = new HashSet<>();
  private volatile int current;
  private volatile int currentCanary;
  private volatile boolean running = true;
  private Thread thread;

  public ModelWatcher(Map<String, Object> clientProps, SchemaRegistryClient schemas, TopicLayout topics, String name,
      ModelKind kind, Path cacheDir, WorkerMetrics metrics) {
    this.catalog = new ModelCatalog(clientProps, schemas, topics.modelVersions());
    this.registry = new ModelRegistry(clientProps, schemas, topics);
    this.name = name;
    this.kind = kind;
    this.cacheDir = cacheDir;
    this.metrics = metrics;
  }

  /** The active version announced now, read synchronously (for start-up). */
  public Optional<ModelVersion> activeNow() {
    catalog.refresh(Duration.ofSeconds(15));
    return catalog.active(name, kind);
  }

  /** Fetches, verifies and unpacks {@code v}; returns its folder. */
  public Path materialize(ModelVersion v) throws Exception {
    Path dir = cacheDir.resolve(v.getName() + "-" + v.getKind().name().toLowerCase() + "-" + v.getVersion() + "-"
        + v.getSha256().substring(0, 12));
    if (!Files.isRegularFile(dir.resolve("model.json"))) {
      byte[] bytes = registry.fetch(v, Duration.ofSeconds(60));
      Path tmp = Files.createTempDirectory(cacheDir, "incoming-");
      ModelArtifacts.unpack(bytes, tmp);
      try {
        Files.move(tmp, dir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      } catch (java.io.IOException e) {
        if (!Files.isRegularFile(dir.resolve("model.json"))) {
          throw e;
        }
        // Another worker sharing this cache unpacked the same verified artifact first: use theirs.
        try (var files = Files.list(tmp)) {
          for (Path f : files.toList()) {
            Files.delete(f);
          }
        }
        Files.delete(tmp);
      }
    }
    return dir;
  }

  /** Starts following announcements; {@code current} is the version serving now. */
  public <T> void start(int currentVersion, Loader<T> load, BiConsumer<ModelVersion, T> onLoaded) {
    start(currentVersion, load, onLoaded, null);
  }

  /**
   * As {@link #start(int, Loader, BiConsumer)}, and when {@code onCanary} is given, also follows the
   * newest CANDIDATE version above the active one: it is loaded the same way and handed over for a
   * canary share of the traffic, or {@code (null, null)} when there is no candidate any more.
   */
  public <T> void start(int currentVersion, Loader<T> load, BiConsumer<ModelVersion, T> onLoaded,
      BiConsumer<ModelVersion, T> onCanary) {
    this.current = currentVersion;
    thread = new Thread(() -> {
      while (running) {
        try {
          catalog.refresh(Duration.ofSeconds(5));
          Optional<ModelVersion> active = catalog.active(name, kind);
          if (active.isPresent() && active.get().getVersion() != current) {
            T loaded = tryLoad(active.get(), load);
            if (loaded != null) {
              current = active.get().getVersion();
              onLoaded.accept(active.get(), loaded);
            }
          }
          if (onCanary != null) {
            Optional<ModelVersion> candidate = catalog.all().stream().map(ModelCatalog.Entry::version)
                .filter(v -> v.getName().equals(name) && v.getKind() == kind
                    && v.getStatus() == io.softstream.schemas.avro.ModelStatus.CANDIDATE && v.getVersion() > current)
                .reduce((a, b) -> b);
            if (candidate.isPresent() && candidate.get().getVersion() != currentCanary) {
              T loaded = tryLoad(candidate.get(), load);
              if (loaded != null) {
                currentCanary = candidate.get().getVersion();
                onCanary.accept(candidate.get(), loaded);
              }
            } else if (candidate.isEmpty() && currentCanary != 0) {
              currentCanary = 0;
              onCanary.accept(null, null);
            }
          }
          Thread.sleep(300);
        } catch (InterruptedException e) {
          return;
        } catch (RuntimeException e) {
          log.warn("Model watcher for {}: {}", name, e.toString());
        }
      }
    }, "model-watcher-" + name);
    thread.setDaemon(true);
    thread.start();
  }

  private <T> T tryLoad(ModelVersion v, Loader<T> load) {
    String id = v.getVersion() + "/" + v.getSha256();
    if (failed.contains(id)) {
      return null;
    }
    long t0 = System.nanoTime();
    try {
      T loaded = load.load(materialize(v), v);
      log.info("Model {}:{} ({}) loaded, warmed up and self-checked in {} ms", name, v.getVersion(), v.getStatus(),
          (System.nanoTime() - t0) / 1_000_000);
      return loaded;
    } catch (Exception e) {
      failed.add(id);
      metrics.modelLoadFailure();
      log.error("Model {}:{} was announced {} but cannot serve ({}); version {} keeps serving", name, v.getVersion(),
          v.getStatus(), e.getMessage(), current);
      return null;
    }
  }

  @Override
  public void close() {
    running = false;
    if (thread != null) {
      thread.interrupt();
      try {
        thread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    catalog.close();
    registry.close();
  }
}
