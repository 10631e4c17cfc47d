package io.softstream.topology.streams.generation;

import io.softstream.schemas.avro.GeneratedImage;
import io.softstream.schemas.avro.GenerationCompletion;
import io.softstream.schemas.avro.GenerationRequest;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.streams.StreamsApp;
import io.softstream.topology.streams.StreamsSettings;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.StreamPartitioner;
import org.apache.kafka.streams.state.Stores;

/**
 * The {@code generation} app as a value: {@link #topology} builds it and does nothing else.
 *
 * <pre>
 * generation-requests ─┐                                        ┌─▶ generation-jobs (unit jobs)
 *                      ├─▶ generation-fan-out-fan-in [store] ───┤
 * generated-images ────┘                                        └─▶ generation-completions
 * </pre>
 *
 * <p>A request for {@code count} images becomes {@code ceil(count / unitSize)} unit jobs on
 * generation-jobs, keyed {@code <request id>#<first index>} and placed on consecutive partitions
 * from a per-request offset, so the generation workers sharing that topic share the request. Each
 * job carries the parent's id, its first index and the parent's seed, so image {@code i} gets the
 * same seed however the request is split. The generation workers write each image under the
 * parent's id and global index, keyed by the parent's id; this app joins them back by request id
 * and writes one {@link GenerationCompletion} per request: COMPLETE once every index arrived, or
 * PARTIAL naming the missing indices when {@link Settings#timeout} of wall-clock time passed first.
 * An index received twice counts once; images after the completion are noted in the state, never a
 * second completion; a request id seen again while its state is kept is not fanned out again.
 *
 * <p>Contract: generation-requests and generated-images are keyed by request id and have the same
 * partition count (3 in {@link TopicLayout}), so a request and its images meet in one task. A
 * request with a count outside 1..{@link Settings#maxCount} goes on as one job unchanged, for the
 * worker to dead-letter with its reason.
 *
 * <p>The processor API is used because one processor decides per record which of two sinks (jobs or
 * completions) gets it; every processor, sink and the store are named explicitly.
 */
public final class GenerationApp implements StreamsApp {
  /** The app's name: application.id {@code softstream-generation}. */
  public static final String NAME = "generation";

  public static final String REQUESTS_SOURCE = "generation-requests-source";
  public static final String IMAGES_SOURCE = "generated-images-source";
  public static final String PROCESSOR = "generation-fan-out-fan-in";
  public static final String JOBS_SINK = "generation-jobs-sink";
  public static final String COMPLETIONS_SINK = "generation-completions-sink";
  public static final String STORE = "generation-fan-in-store";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Topology topology(StreamsSettings settings) {
    Settings s = Settings.defaults(settings.serdeConfig());
    return topology(
        new Settings(
            settings.getInt(StreamsSettings.GENERATION_UNIT_SIZE),
            settings.getInt(StreamsSettings.GENERATION_MAX_COUNT),
            Duration.ofMillis(settings.getLong(StreamsSettings.GENERATION_TIMEOUT_MS)),
            s.punctuateInterval(),
            s.doneRetention(),
            s.serdeConfig()),
        settings.topics());
  }

  /**
   * Settings of the generation app.
   *
   * @param unitSize most images per unit job (e.g. 4)
   * @param maxCount largest request that is split; larger ones go on unsplit for the worker to
   *     reject (InvalidCount), as it rejects them when it reads requests directly
   * @param timeout wall-clock time from a request to its PARTIAL completion, if not complete
   * @param punctuateInterval how often (wall-clock) timeouts and expiries are checked
   * @param doneRetention how long a completed request's state is kept, so that duplicates of the
   *     request and late images are recognised and ignored
   * @param serdeConfig the Avro serde settings ({@code schema.registry.url}, ...)
   */
  public record Settings(
      int unitSize,
      int maxCount,
      Duration timeout,
      Duration punctuateInterval,
      Duration doneRetention,
      Map<String, ?> serdeConfig) {
    public Settings {
      if (unitSize < 1) {
        throw new IllegalArgumentException("unitSize must be at least 1, was " + unitSize);
      }
      if (maxCount < unitSize) {
        throw new IllegalArgumentException(
            "maxCount (" + maxCount + ") must be at least unitSize (" + unitSize + ")");
      }
      for (Duration d : new Duration[] {timeout, punctuateInterval, doneRetention}) {
        if (d == null || d.isNegative() || d.isZero()) {
          throw new IllegalArgumentException(
              "timeout, punctuateInterval and doneRetention must be positive, were "
                  + timeout
                  + ", "
                  + punctuateInterval
                  + ", "
                  + doneRetention);
        }
      }
      serdeConfig = Map.copyOf(Objects.requireNonNull(serdeConfig, "serdeConfig"));
    }

    /** Unit 4, up to 4096 images, 10 minutes' timeout checked every second, kept an hour. */
    public static Settings defaults(Map<String, ?> serdeConfig) {
      return new Settings(
          4, 4096, Duration.ofMinutes(10), Duration.ofSeconds(1), Duration.ofHours(1), serdeConfig);
    }
  }

  /** The app's topology; builds serdes from {@code settings.serdeConfig()} and starts nothing. */
  public static Topology topology(Settings settings, TopicLayout topics) {
    SchemaRegistryClient registry = SchemaRegistryClients.create(settings.serdeConfig());
    AvroDeserializer<GenerationRequest> requests =
        new AvroDeserializer<>(registry, GenerationRequest.class);
    requests.configure(settings.serdeConfig(), false);
    AvroDeserializer<GeneratedImage> images =
        new AvroDeserializer<>(registry, GeneratedImage.class);
    images.configure(settings.serdeConfig(), false);
    Topology t = new Topology();
    t.addSource(REQUESTS_SOURCE, new StringDeserializer(), requests, topics.generationRequests());
    t.addSource(IMAGES_SOURCE, new StringDeserializer(), images, topics.generatedImages());
    t.addProcessor(PROCESSOR, () -> new FanOutFanIn(settings), REQUESTS_SOURCE, IMAGES_SOURCE);
    t.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(STORE), Serdes.String(), FanInState.SERDE),
        PROCESSOR);
    t.addSink(
        JOBS_SINK,
        topics.generationJobs(),
        new StringSerializer(),
        new AvroSerializer<GenerationRequest>(registry, settings.serdeConfig(), false),
        new JobPartitioner(settings.unitSize()),
        PROCESSOR);
    t.addSink(
        COMPLETIONS_SINK,
        topics.generationCompletions(),
        new StringSerializer(),
        new AvroSerializer<GenerationCompletion>(registry, settings.serdeConfig(), false),
        PROCESSOR);
    return t;
  }

  /** The key of a unit job: {@code <request id>#<first index>}. */
  public static String jobKey(String requestId, int firstIndex) {
    return requestId + "#" + firstIndex;
  }

  /**
   * Puts job {@code j} of a request on partition {@code (h + j) mod n}, {@code h} a hash of the
   * request id: one request's jobs land on distinct partitions (up to n of them), and different
   * requests start at different partitions. Hashing each job key instead would let several jobs of
   * one request collide on one partition, and so on one worker.
   */
  public static final class JobPartitioner implements StreamPartitioner<String, GenerationRequest> {
    private final int unitSize;

    public JobPartitioner(int unitSize) {
      this.unitSize = unitSize;
    }

    @Override
    public Optional<Set<Integer>> partitions(
        String topic, String key, GenerationRequest job, int numPartitions) {
      return Optional.of(Set.of(partition(job, numPartitions)));
    }

    /** The partition of a unit job among {@code numPartitions}. */
    public int partition(GenerationRequest job, int numPartitions) {
      String parent =
          job.getParentRequestId() != null
              ? job.getParentRequestId().toString()
              : job.getRequestId().toString();
      // Jobs are cut at multiples of the unit size, so this numbers them 0, 1, 2, ...
      int j = job.getFirstIndex() / unitSize;
      int h = Utils.toPositive(Utils.murmur2(parent.getBytes(StandardCharsets.UTF_8)));
      return (int) ((h + (long) j) % numPartitions);
    }
  }
}
