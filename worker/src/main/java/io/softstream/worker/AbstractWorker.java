package io.softstream.worker;

import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.schemas.serde.TruncatedRecordException;
import io.softstream.schemas.serde.UnknownMagicByteException;
import io.softstream.schemas.serde.UnknownSchemaException;
import io.softstream.topology.TopicLayout;
import io.softstream.worker.internals.BrokerWatch;
import io.softstream.worker.internals.DeadLetters;
import io.softstream.worker.internals.FailureClassifier;
import io.softstream.worker.internals.PoisonRecordException;
import io.softstream.worker.internals.TransactionalLoop;
import io.softstream.worker.internals.WorkerMetrics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every worker shares: config, registry client, metrics endpoint, dead letters and the
 * exactly-once loop. A subclass loads and warms up its model in its constructor, then calls {@link
 * #markReady()}; {@link #run()} blocks until {@link #close()}.
 */
public abstract class AbstractWorker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AbstractWorker.class);

  protected final WorkerConfig config;
  protected final String role;
  protected final String workerId;
  protected final TopicLayout topics;
  protected final SchemaRegistryClient registry;
  protected final WorkerMetrics metrics;
  protected final DeadLetters deadLetters;
  private final TransactionalLoop loop;
  private final BrokerWatch brokers;
  private volatile boolean ready;
  private int metricsPort = -1;

  AbstractWorker(WorkerConfig config, String role, String inputTopic) {
    this.config = config;
    this.role = role;
    this.workerId = config.getString(WorkerConfig.WORKER_ID);
    this.topics = layout(config);
    this.registry = SchemaRegistryClients.create(config.serdeConfig());
    this.metrics = new WorkerMetrics(role, workerId);
    AvroSerializer<DeadLetter> dlSer = new AvroSerializer<>(registry, config.serdeConfig(), false);
    this.deadLetters =
        new DeadLetters(
            topics.deadLetters(),
            workerId,
            dlSer,
            Clock.systemUTC(),
            topics.spec(topics.deadLetters()).maxMessageBytes() - 64 * 1024);
    this.loop =
        new TransactionalLoop(
            new TransactionalLoop.Settings(
                workerId,
                List.of(inputTopic),
                config.getInt(WorkerConfig.BATCH_MAX_RECORDS),
                Duration.ofMillis(config.getLong(WorkerConfig.BATCH_MAX_WAIT_MS)),
                Duration.ofMillis(config.getLong(WorkerConfig.FAILURE_MAX_DURATION_MS)),
                config.getInt(WorkerConfig.TRANSACTION_MAX_RECORDS),
                Duration.ofMillis(config.getLong(WorkerConfig.TRANSACTION_MAX_WAIT_MS))),
            () ->
                new KafkaConsumer<>(
                    config.consumerConfig(role),
                    new ByteArrayDeserializer(),
                    new ByteArrayDeserializer()),
            () ->
                new KafkaProducer<>(
                    config.producerConfig(role),
                    new ByteArraySerializer(),
                    new ByteArraySerializer()),
            new TransactionalLoop.BatchProcessor() {
              @Override
              public List<TransactionalLoop.Output> process(
                  List<ConsumerRecord<byte[], byte[]>> batch) {
                return AbstractWorker.this.process(batch);
              }

              @Override
              public TransactionalLoop.Prepared prepare(
                  List<ConsumerRecord<byte[], byte[]>> batch) {
                return AbstractWorker.this.prepare(batch);
              }

              @Override
              public void idle() {
                AbstractWorker.this.idle();
              }

              @Override
              public boolean joinsWorkInFlight() {
                return AbstractWorker.this.joinsWorkInFlight();
              }
            },
            deadLetters,
            metrics,
            Clock.systemUTC());
    this.brokers = new BrokerWatch(workerId, config.clientConfig(), Clock.systemUTC());
    int port = config.getInt(WorkerConfig.METRICS_PORT);
    if (port >= 0) {
      try {
        metricsPort = metrics.serve(port, loop::isRunning, this::notReadyReason);
      } catch (IOException e) {
        throw new UncheckedIOException(
            "Could not serve metrics on port " + port + " (metrics.port; -1 turns it off)", e);
      }
    }
  }

  /** The topic names of a config (for subclass constructors, before the fields exist). */
  static TopicLayout layout(WorkerConfig c) {
    return TopicLayout.of(c.getString(WorkerConfig.TOPIC_PREFIX));
  }

  /**
   * Turns a batch into outputs; poison records become dead letters (see {@link TransactionalLoop}).
   */
  protected abstract List<TransactionalLoop.Output> process(
      List<ConsumerRecord<byte[], byte[]>> batch);

  /**
   * {@link #process} split in two stages (see {@link TransactionalLoop.BatchProcessor#prepare}); by
   * default everything happens in the second.
   */
  protected TransactionalLoop.Prepared prepare(List<ConsumerRecord<byte[], byte[]>> batch) {
    return () -> process(batch);
  }

  /** Between polls with nothing buffered, on the loop thread. */
  protected void idle() {}

  /**
   * True if records arriving while a batch is worked on can join it (see {@link
   * TransactionalLoop.BatchProcessor#joinsWorkInFlight}).
   */
  protected boolean joinsWorkInFlight() {
    return false;
  }

  /** The model is loaded and warmed up: /health/ready answers 200 once the loop runs. */
  protected void markReady() {
    ready = true;
  }

  /** Runs the loop until {@link #close()}; throws on a fatal error. */
  public void run() {
    log.info("{} worker {} running (metrics on port {})", role, workerId, metricsPort);
    brokers.start();
    try {
      loop.run();
    } finally {
      brokers.close();
    }
  }

  /**
   * Runs {@link #run()} and then {@link #release()} on a new daemon thread named {@code
   * threadName}, started here, for hosts that run workers beside other work (the demo, the
   * benchmark, tests); join it after {@link #close()}.
   */
  public Thread startInBackground(String threadName) {
    Thread t =
        new Thread(
            () -> {
              try {
                run();
              } finally {
                release();
              }
            },
            threadName);
    t.setDaemon(true);
    t.start();
    return t;
  }

  /** Graceful stop: the in-flight batch is finished and committed; {@link #run()} then returns. */
  @Override
  public void close() {
    loop.close();
  }

  /** Test hook: stop without committing the in-flight batch, as a crash would. */
  public void kill() {
    loop.kill();
  }

  /** Releases the model, registry client and metrics endpoint (after {@link #run()} returned). */
  public void release() {
    metrics.close();
    registry.close();
  }

  /** Partitions owned at the last poll. */
  public java.util.Set<org.apache.kafka.common.TopicPartition> assignment() {
    return loop.assignment();
  }

  public boolean isReady() {
    return notReadyReason() == null;
  }

  /** Why /health/ready answers 503, or null when the worker is ready. */
  public String notReadyReason() {
    if (!ready) {
      return "the model is not loaded and warmed up yet";
    }
    if (!loop.isRunning()) {
      return "the consume loop is not running";
    }
    String broker = brokers.problem();
    return broker != null ? broker : loop.problem();
  }

  public int metricsPort() {
    return metricsPort;
  }

  public WorkerMetrics metrics() {
    return metrics;
  }

  /**
   * Reads one input record with {@code read} (deserialise and check it). Bad input — a tombstone,
   * bytes that are not {@code expected} (e.g. "an ImageEvent") in our wire format, or anything
   * {@code read} rejects with a {@link PoisonRecordException} — becomes a dead letter in {@code
   * out}, and the result is null. Any other error (the registry is down or refuses this worker)
   * propagates, so the batch is retried instead of dead-lettered ({@link FailureClassifier}).
   */
  protected <T> T readOrDeadLetter(
      ConsumerRecord<byte[], byte[]> r,
      String expected,
      List<TransactionalLoop.Output> out,
      Function<ConsumerRecord<byte[], byte[]>, T> read) {
    try {
      if (r.value() == null) {
        throw new PoisonRecordException(
            "EmptyRecord", "The record has no value (tombstone); expected " + expected + ".");
      }
      return read.apply(r);
    } catch (PoisonRecordException p) {
      out.add(deadLetter(r, p));
    } catch (SerializationException s) {
      if (!FailureClassifier.isBadRecord(s)) {
        throw s; // the registry refused us (401, 429...): no fault of the record
      }
      out.add(unreadable(r, s, expected));
    }
    return null;
  }

  /** A dead letter for a record whose bytes could not be read as the expected Avro record. */
  protected TransactionalLoop.Output unreadable(
      ConsumerRecord<byte[], byte[]> r, SerializationException e, String expected) {
    String errorClass =
        e instanceof UnknownMagicByteException
            ? "NotConfluentAvro"
            : e instanceof UnknownSchemaException
                ? "UnknownSchemaId"
                : e instanceof TruncatedRecordException ? "TruncatedRecord" : "WrongSchema";
    // Lead with what the user can act on; the serde's schema-internal detail follows.
    String reason =
        errorClass.equals("WrongSchema")
            ? "The record could not be read as " + expected + " (" + e.getMessage() + ")"
            : e.getMessage();
    return deadLetter(r, new PoisonRecordException(errorClass, reason, e));
  }

  protected TransactionalLoop.Output deadLetter(
      ConsumerRecord<byte[], byte[]> r, PoisonRecordException e) {
    log.debug("dead letter {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), e.getMessage());
    return new TransactionalLoop.Output(r, deadLetters.of(r, e), true, -1);
  }
}
