package io.softstream.worker.internals;

import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelStatus;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.topology.models.ModelArtifacts;
import io.softstream.topology.models.ModelRegistry;
import io.softstream.worker.LowPriority;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one model slot of a worker: the version serving now, an optional canary and, for decoders, a
 * few other versions kept loaded (an LRU), all with one lifecycle. A version is fetched, its
 * SHA-256 verified, unpacked, then opened, warmed up and self-checked by the {@link Loader}, all
 * off the serving thread (in {@link #update}); it starts serving at the next {@link #begin()}, so a
 * batch never sees two versions of the slot. A superseded engine is closed once no open {@link
 * Lease} holds it. A failed fetch, bad checksum or failed self-check leaves the current version
 * serving; that announcement is not retried, the next one is acted on.
 *
 * <pre>{@code
 * try (ModelSlot.Lease<Engine> lease = slot.begin()) {   // between batches: switch, then pin
 *   ModelSlot.Model<Engine> m = lease.pick(record.key()); // the canary for its share of keys
 *   m.get().infer(...);
 *   lease.served(m, 1);                                   // per-version counter
 * }                                                        // a superseded engine closes here
 * }</pre>
 *
 * @param <T> the loaded engine (closed by the slot)
 */
public final class ModelSlot<T extends AutoCloseable> implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ModelSlot.class);

  /**
   * One fetch per cache folder at a time in this process: workers in one process sharing a cache
   * (the demo's two encoders) fetched, hashed and unpacked the same artifact side by side; the
   * second now waits and uses the first's. Keyed by the cache folder, not the version, so the map
   * holds one lock per cache, however many versions come.
   */
  private static final Map<Path, Object> FETCHING = new java.util.concurrent.ConcurrentHashMap<>();

  /** Opens a model folder, warms it up and self-checks it; throws if it must not serve. */
  public interface Loader<T> {
    T load(Path dir, ModelVersion version) throws Exception;
  }

  /** Fetches an announced version's artifact bytes (the slot verifies their SHA-256). */
  public interface Artifacts {
    byte[] fetch(ModelVersion version) throws Exception;
  }

  /**
   * What a slot serves.
   *
   * @param name model name followed on the model-versions topic (and written into records)
   * @param kind model kind followed
   * @param canaryFraction share of keys sent to the newest CANDIDATE above the active version; 0 =
   *     none
   * @param keepLoaded superseded or requested versions kept loaded for {@link Lease#version}; 0 for
   *     a worker that only ever serves the active version
   */
  public record Settings(String name, ModelKind kind, double canaryFraction, int keepLoaded) {
    public Settings {
      if (!(canaryFraction >= 0 && canaryFraction <= 1) || keepLoaded < 0) {
        throw new IllegalArgumentException("canaryFraction must be in [0, 1] and keepLoaded >= 0");
      }
    }
  }

  /** One loaded version. Its engine is closed once it is retired and no lease holds it. */
  public static final class Model<T extends AutoCloseable> {
    private final String name;
    private final int version;
    private final T engine;
    private final long loadMillis;
    private int holds; // guarded by the slot
    private boolean retired;
    private boolean closed;

    Model(String name, int version, T engine, long loadMillis) {
      this.name = name;
      this.version = version;
      this.engine = engine;
      this.loadMillis = loadMillis;
    }

    public String name() {
      return name;
    }

    public int version() {
      return version;
    }

    public T get() {
      return engine;
    }

    /** {@code name:version}. */
    @Override
    public String toString() {
      return name + ":" + version;
    }
  }

  private final Settings settings;
  private final Artifacts artifacts;
  private final Path cacheDir;
  private final Loader<T> loader;
  private final WorkerMetrics metrics;

  // Guarded by this. Loading happens outside the lock; only the hand-over takes it.
  private Model<T> active;
  private Model<T> canary;
  private Model<T> nextActive;
  private Optional<Model<T>> nextCanary; // null = no change, empty = drop the canary
  private final LinkedHashMap<Integer, Model<T>> kept = new LinkedHashMap<>(8, 0.75f, true);
  private final Map<Integer, Integer> wanted =
      new HashMap<>(); // version -> updates seen when first asked
  private final Set<Integer> missing = new HashSet<>();
  private final Map<Integer, String> unloadable = new HashMap<>();
  private int updates;
  private boolean closedSlot;

  // Updater thread only.
  private final Set<String> failed = new HashSet<>();

  /**
   * Versions whose artifact store could not be reached at the last try: tried again, not refused.
   */
  private final Set<String> unreachable = new HashSet<>();

  private int activeTarget;
  private int canaryTarget;

  /**
   * @param artifacts where announced versions come from; null when the worker follows no
   *     announcements (then only the version given to {@link #startOn} serves)
   * @param cacheDir where artifacts are unpacked (ignored without {@code artifacts})
   */
  public ModelSlot(
      Settings settings,
      Artifacts artifacts,
      Path cacheDir,
      Loader<T> loader,
      WorkerMetrics metrics) {
    this.settings = settings;
    this.artifacts = artifacts;
    this.cacheDir = cacheDir;
    this.loader = loader;
    this.metrics = metrics;
  }

  public Settings settings() {
    return settings;
  }

  /** Serves an engine opened by the caller (e.g. from {@code model.dir}) from now on. */
  public synchronized void startOn(String name, int version, T engine) {
    install(new Model<>(name, version, engine, 0));
  }

  /**
   * Loads an announced version synchronously and serves it (for start-up); throws if it cannot
   * serve.
   */
  public void startOn(ModelVersion v) throws Exception {
    Model<T> m = load(v);
    synchronized (this) {
      install(m);
    }
  }

  private void install(Model<T> m) {
    if (active != null) {
      retire(active);
    }
    active = m;
    activeTarget = m.version;
    metrics.activeModel(m.name, m.version);
  }

  /**
   * Acts on the catalog as last read, off the serving thread: loads a newly ACTIVE version (and
   * with a canary share the newest CANDIDATE above it) and stages it for the next {@link #begin()};
   * loads the versions {@link Lease#version} asked for, and marks those the catalog does not name
   * as missing once it was read again after they were asked for.
   *
   * @param announcements every version's latest announcement, in announcement order
   */
  public void update(List<ModelVersion> announcements) {
    List<ModelVersion> ours =
        announcements.stream()
            .filter(v -> v.getName().equals(settings.name()) && v.getKind() == settings.kind())
            .toList();
    Optional<ModelVersion> activeNow = activeIn(announcements);
    if (activeNow.isPresent() && activeNow.get().getVersion() != activeTarget) {
      Model<T> m;
      synchronized (this) {
        m = kept.get(activeNow.get().getVersion()); // a decoder already loaded for older tokens
      }
      m = m != null ? m : tryLoad(activeNow.get());
      if (m != null) {
        activeTarget = m.version;
        stageActive(m);
      }
    }
    if (settings.canaryFraction() > 0) {
      Optional<ModelVersion> candidate =
          ours.stream()
              .filter(v -> v.getStatus() == ModelStatus.CANDIDATE && v.getVersion() > activeTarget)
              .reduce((a, b) -> b);
      if (candidate.isPresent() && candidate.get().getVersion() != canaryTarget) {
        Model<T> m = tryLoad(candidate.get());
        if (m != null) {
          canaryTarget = m.version;
          stageCanary(Optional.of(m));
        }
      } else if (candidate.isEmpty() && canaryTarget != 0) {
        canaryTarget = 0;
        stageCanary(Optional.empty());
      }
    }
    List<Integer> asked;
    int seen;
    synchronized (this) {
      seen = ++updates;
      asked = new ArrayList<>(wanted.keySet());
    }
    for (int version : asked) {
      Optional<ModelVersion> v =
          ours.stream().filter(x -> x.getVersion() == version).reduce((a, b) -> b);
      if (v.isPresent()) {
        Model<T> m = tryLoad(v.get());
        synchronized (this) {
          if (m != null) {
            wanted.remove(version);
            keep(m);
          } else if (!unreachable.contains(v.get().getVersion() + "/" + v.get().getSha256())) {
            wanted.remove(version);
            unloadable.put(version, "announced but cannot be loaded (see the worker log)");
          }
          // else: still wanted, tried again at the next update; its records stay retriable.
        }
      } else {
        synchronized (this) {
          // Asked for during update n-1 at the latest, so the catalog of update n+1 was read after
          // the request.
          if (seen >= wanted.get(version) + 2) {
            wanted.remove(version);
            missing.add(version);
          }
        }
      }
    }
  }

  /**
   * The ACTIVE version of this slot's model: the latest ACTIVE announcement, so a rollback
   * (re-announcing an older version as ACTIVE) is acted on like a promotion.
   *
   * @param announcements every version's latest announcement, in announcement order
   */
  public Optional<ModelVersion> activeIn(List<ModelVersion> announcements) {
    return announcements.stream()
        .filter(
            v ->
                v.getName().equals(settings.name())
                    && v.getKind() == settings.kind()
                    && v.getStatus() == ModelStatus.ACTIVE)
        .reduce((a, b) -> b);
  }

  private synchronized void stageActive(Model<T> m) {
    if (closedSlot) {
      closeEngine(m);
      return;
    }
    if (nextActive != null) {
      closeEngine(nextActive); // announced and replaced before it ever served
    }
    nextActive = m;
  }

  private synchronized void stageCanary(Optional<Model<T>> m) {
    if (closedSlot) {
      m.ifPresent(this::closeEngine);
      return;
    }
    if (nextCanary != null) {
      nextCanary.ifPresent(this::closeEngine);
    }
    nextCanary = m;
  }

  private void keep(Model<T> m) {
    if (closedSlot) {
      closeEngine(m);
      return;
    }
    Model<T> old = kept.put(m.version, m);
    if (old != null && old != m) {
      retire(old);
    }
    while (kept.size() > settings.keepLoaded()) {
      var eldest = kept.entrySet().iterator().next();
      kept.remove(eldest.getKey());
      if (eldest.getValue() != active && eldest.getValue() != canary) {
        retire(eldest.getValue());
      }
    }
  }

  /**
   * Starts a batch, on the serving thread: a staged version starts serving now (never during a
   * batch), and the versions handed out stay open until the lease is closed.
   */
  public synchronized Lease<T> begin() {
    if (nextCanary != null) {
      Model<T> old = canary;
      canary = nextCanary.orElse(null);
      nextCanary = null;
      log.info(
          "Model slot {}: canary {} of keys now go to {}",
          settings.name(),
          settings.canaryFraction(),
          canary == null
              ? "nobody (no candidate)"
              : canary + " (loaded in " + canary.loadMillis + " ms)");
      if (old != null) {
        retire(old);
      }
    }
    if (nextActive != null) {
      Model<T> old = active;
      active = nextActive;
      nextActive = null;
      metrics.activeModel(active.name, active.version);
      log.info(
          "Model slot {}: swapped {} -> {} (loaded, warmed up and self-checked in {} ms)",
          settings.name(),
          old == null ? "none" : old.toString(),
          active,
          active.loadMillis);
      if (old != null) {
        if (settings.keepLoaded() > 0) {
          keep(old); // its tokens still need it
        } else {
          retire(old);
        }
      }
      if (canary != null && canary.version <= active.version) {
        retire(canary); // promoted (or overtaken): the active version serves everything now
        canary = null;
      }
    }
    return new Lease<>(this, active, canary);
  }

  /**
   * The version a batch started now would use, without pinning it (e.g. to prepare inputs ahead).
   */
  public synchronized Model<T> peek() {
    return nextActive != null ? nextActive : active;
  }

  /** The version serving now, or 0 if none. */
  public synchronized int activeVersion() {
    return active == null ? 0 : active.version;
  }

  /** The canary version serving now, or 0 if none. */
  public synchronized int canaryVersion() {
    return canary == null ? 0 : canary.version;
  }

  /** The versions loaded now, for messages. */
  public synchronized Set<String> loaded() {
    Set<String> s = new TreeSet<>();
    if (active != null) {
      s.add(active.toString());
    }
    if (canary != null) {
      s.add(canary.toString());
    }
    kept.values().forEach(m -> s.add(m.toString()));
    return s;
  }

  /** The versions of one batch, held open until {@link #close()}. Serving thread only. */
  public static final class Lease<T extends AutoCloseable> implements AutoCloseable {
    private final ModelSlot<T> slot;
    private final Model<T> model;
    private final Model<T> canary;
    private final List<Model<T>> held = new ArrayList<>();

    private Lease(ModelSlot<T> slot, Model<T> model, Model<T> canary) {
      this.slot = slot;
      this.model = model;
      this.canary = canary;
      hold(model);
      hold(canary);
    }

    private void hold(Model<T> m) {
      if (m != null) {
        m.holds++;
        held.add(m);
      }
    }

    /**
     * The active version of this batch; null if the slot serves none yet (a decoder started empty).
     */
    public Model<T> model() {
      return model;
    }

    /** The canary of this batch, or null. */
    public Model<T> canary() {
      return canary;
    }

    /**
     * The version that serves a record with this key: the canary for its share of key hashes, else
     * the active one.
     */
    public Model<T> pick(byte[] key) {
      if (canary == null || key == null) {
        return model;
      }
      return (Utils.toPositive(Utils.murmur2(key)) % 10_000)
              < slot.settings.canaryFraction() * 10_000
          ? canary
          : model;
    }

    /**
     * Exactly this version (tokens name the version that made them), held until the lease closes.
     *
     * @return empty if the catalog, read to its end after this version was first asked for, does
     *     not name it
     * @throws ModelNotReadyException (retriable) while it is being looked up or loaded in the
     *     background
     * @throws PoisonRecordException UnloadableModelVersion if it is announced but cannot be loaded
     */
    public Optional<Model<T>> version(int version) {
      synchronized (slot) {
        Model<T> m =
            model != null && model.version == version
                ? model
                : canary != null && canary.version == version ? canary : slot.kept.get(version);
        if (m != null) {
          if (!held.contains(m)) {
            hold(m);
          }
          return Optional.of(m);
        }
        if (slot.artifacts == null || slot.missing.contains(version)) {
          return Optional.empty();
        }
        String reason = slot.unloadable.get(version);
        if (reason != null) {
          throw new PoisonRecordException(
              "UnloadableModelVersion",
              "Model "
                  + slot.settings.name()
                  + ":"
                  + version
                  + " is "
                  + reason
                  + "; it cannot serve.");
        }
        slot.wanted.putIfAbsent(version, slot.updates);
      }
      throw new ModelNotReadyException(
          "Model "
              + slot.settings.name()
              + ":"
              + version
              + " is not loaded yet; it is being looked up and loaded in the background, the batch is retried");
    }

    /** Counts {@code n} records served by {@code m} (the per-version metric). */
    public void served(Model<T> m, int n) {
      slot.metrics.recordsOutByVersion(m.name, m.version, n);
    }

    /** Ends the batch: a version superseded meanwhile is closed now if no other batch holds it. */
    @Override
    public void close() {
      synchronized (slot) {
        for (Model<T> m : held) {
          m.holds--;
          slot.closeIfDone(m);
        }
        held.clear();
      }
    }
  }

  /** A record needs a version that is still being looked up or loaded: retry the batch later. */
  public static final class ModelNotReadyException extends RetriableException {
    public ModelNotReadyException(String message) {
      super(message, null);
    }
  }

  private void retire(Model<T> m) {
    m.retired = true;
    closeIfDone(m);
  }

  private void closeIfDone(Model<T> m) {
    if (m.retired && m.holds == 0 && m != active && m != canary && kept.get(m.version) != m) {
      closeEngine(m);
    }
  }

  private void closeEngine(Model<T> m) {
    if (m.closed) {
      return;
    }
    m.closed = true;
    try {
      m.engine.close();
    } catch (Exception e) {
      log.warn("Model slot {}: closing {} failed: {}", settings.name(), m, e.toString());
    }
  }

  /** True once the engine of {@code m} was closed (for tests). */
  static boolean isClosed(Model<?> m) {
    return m.closed;
  }

  private Model<T> tryLoad(ModelVersion v) {
    String id = v.getVersion() + "/" + v.getSha256();
    if (failed.contains(id)) {
      return null;
    }
    try {
      Model<T> m = load(v);
      unreachable.remove(id);
      return m;
    } catch (Exception e) {
      if (e instanceof ModelRegistry.ArtifactUnreachableException
          || e instanceof org.apache.kafka.common.errors.RetriableException) {
        // Not the version's fault: no dead letters; the records wait and it is tried again.
        if (unreachable.add(id)) {
          log.warn(
              "Model {}:{}: its artifact cannot be reached now ({}); trying again",
              settings.name(),
              v.getVersion(),
              e.getMessage());
        }
        return null;
      }
      unreachable.remove(id);
      failed.add(id);
      metrics.modelLoadFailure();
      log.error(
          "Model {}:{} was announced {} but cannot serve ({}); version {} keeps serving",
          settings.name(),
          v.getVersion(),
          v.getStatus(),
          e.getMessage(),
          activeVersion());
      return null;
    }
  }

  private Model<T> load(ModelVersion v) throws Exception {
    if (artifacts == null) {
      throw new IllegalStateException(
          "Model slot " + settings.name() + " follows no announcements");
    }
    long t0 = System.nanoTime();
    // Fetching, hashing and unpacking (the bulk of a swap's CPU) yield the cores to serving; the
    // engine is opened on this thread so that its thread pools keep normal priority.
    Path dir = LowPriority.call("model-fetch", () -> materialize(v));
    long t1 = System.nanoTime();
    T engine = loader.load(dir, v);
    long t2 = System.nanoTime();
    log.info(
        "Model slot {}: {}:{} fetched, verified and unpacked in {} ms, loaded, warmed up and self-checked in {} ms",
        settings.name(),
        v.getName(),
        v.getVersion(),
        (t1 - t0) / 1_000_000,
        (t2 - t1) / 1_000_000);
    return new Model<>(v.getName(), v.getVersion(), engine, (t2 - t0) / 1_000_000);
  }

  /**
   * Fetches {@code v}, verifies its SHA-256 and unpacks it into the cache (once per version and
   * checksum).
   */
  Path materialize(ModelVersion v) throws Exception {
    Files.createDirectories(cacheDir);
    Path dir =
        cacheDir.resolve(
            v.getName()
                + "-"
                + v.getKind().name().toLowerCase()
                + "-"
                + v.getVersion()
                + "-"
                + v.getSha256().substring(0, Math.min(12, v.getSha256().length())));
    synchronized (
        FETCHING.computeIfAbsent(cacheDir.toAbsolutePath().normalize(), d -> new Object())) {
      if (Files.isRegularFile(dir.resolve("model.json"))) {
        return dir;
      }
      return fetchInto(v, dir);
    }
  }

  /** Fetches {@code v}, verifies its SHA-256 and unpacks it into {@code dir}. */
  private Path fetchInto(ModelVersion v, Path dir) throws Exception {
    byte[] bytes = artifacts.fetch(v);
    String sha = ModelArtifacts.sha256(bytes);
    if (!sha.equals(v.getSha256())) {
      throw new IOException(
          "Artifact of "
              + v.getName()
              + ":"
              + v.getVersion()
              + " has sha256 "
              + sha
              + " but its announcement says "
              + v.getSha256()
              + ": refusing it (re-publish the version)");
    }
    Path tmp = Files.createTempDirectory(cacheDir, "incoming-");
    ModelArtifacts.unpack(bytes, tmp);
    try {
      Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
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
    return dir;
  }

  /** Closes every engine; a batch still running keeps its versions until its lease closes. */
  @Override
  public synchronized void close() {
    closedSlot = true;
    List<Model<T>> all = new ArrayList<>(kept.values());
    kept.clear();
    if (active != null) {
      all.add(active);
    }
    if (canary != null) {
      all.add(canary);
    }
    if (nextActive != null) {
      all.add(nextActive);
    }
    if (nextCanary != null) {
      nextCanary.ifPresent(all::add);
    }
    active = null;
    canary = null;
    nextActive = null;
    nextCanary = null;
    for (Model<T> m : all) {
      retire(m);
    }
  }
}
