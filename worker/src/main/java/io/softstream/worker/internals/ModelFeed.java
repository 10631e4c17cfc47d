package io.softstream.worker.internals;

import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.models.ModelCatalog;
import io.softstream.topology.models.ModelRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model-versions topic as a worker sees it: one background thread reads the catalog to its end
 * every {@value #PERIOD_MS} ms and hands it to each {@link ModelSlot} it feeds, which loads what it
 * needs on this thread, never on the record path. Artifacts come from the model registry and are
 * unpacked into one cache folder.
 */
public final class ModelFeed implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ModelFeed.class);
  private static final long PERIOD_MS = 300;

  private final ModelCatalog catalog;
  private final ModelRegistry registry;
  private final String topic;
  private final Path cacheDir;
  private final List<ModelSlot<?>> slots = new CopyOnWriteArrayList<>();
  private volatile boolean running = true;
  private Thread thread;

  public ModelFeed(
      java.util.Map<String, Object> clientProps,
      SchemaRegistryClient schemas,
      TopicLayout topics,
      Path cacheDir) {
    try {
      this.cacheDir = Files.createDirectories(cacheDir);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot create the model cache folder " + cacheDir + " (model.cache.dir)", e);
    }
    this.topic = topics.modelVersions();
    this.catalog = new ModelCatalog(clientProps, schemas, topic);
    this.registry = new ModelRegistry(clientProps, schemas, topics);
  }

  /** The topic followed, for messages. */
  public String topic() {
    return topic;
  }

  /** Where artifacts are unpacked. */
  public Path cacheDir() {
    return cacheDir;
  }

  /** Fetches an artifact from the model registry (the slot verifies it). */
  public ModelSlot.Artifacts artifacts() {
    return v -> registry.fetch(v, Duration.ofSeconds(60));
  }

  /**
   * Reads the catalog to its end now, synchronously (for start-up, before {@link #start()}).
   *
   * @return every version's latest announcement, in announcement order
   */
  public synchronized List<ModelVersion> readNow() {
    catalog.refresh(Duration.ofSeconds(15));
    return announcements();
  }

  private List<ModelVersion> announcements() {
    return catalog.all().stream().map(ModelCatalog.Entry::version).toList();
  }

  /** Feeds {@code slot} from the background thread. */
  public void feed(ModelSlot<?> slot) {
    slots.add(slot);
  }

  /** Starts the background thread. */
  public void start() {
    thread =
        new Thread(
            () -> {
              while (running) {
                try {
                  List<ModelVersion> now;
                  synchronized (this) {
                    catalog.refresh(Duration.ofSeconds(5));
                    now = announcements();
                  }
                  for (ModelSlot<?> s : slots) {
                    s.update(now);
                  }
                  Thread.sleep(PERIOD_MS);
                } catch (InterruptedException e) {
                  return;
                } catch (RuntimeException e) {
                  log.warn("Model feed on {}: {}", topic, e.toString());
                }
              }
            },
            "model-feed");
    thread.setDaemon(true);
    thread.start();
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
