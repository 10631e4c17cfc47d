package io.softstream.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.registry.SchemaRegistryException;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import io.softstream.worker.internals.BrokerWatch;
import io.softstream.worker.internals.DeadLetters;
import io.softstream.worker.internals.TransactionalLoop;
import io.softstream.worker.internals.TransactionalLoop.Output;
import io.softstream.worker.internals.WorkerMetrics;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.slf4j.LoggerFactory;

/**
 * Failures of the worker or its dependencies are not bad records (issue 17): an engine fault for
 * several batches and a schema registry answering 401 dead-letter nothing, every image is tokenized
 * exactly once after recovery, and the one real poison record among them is exactly one dead
 * letter. When the fault outlasts failure.max.duration.ms the worker stops with a clear error,
 * leaving the images uncommitted for a healthy worker.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReliabilityIT extends WorkerIT {

  @Test
  @Order(1)
  void anEngineFaultForSeveralBatchesDeadLettersNothingButThePoisonRecord() throws Exception {
    TopicLayout t = freshTopics();
    int n = 40;
    try (KafkaProducer<String, byte[]> p =
        new KafkaProducer<>(
            platform.clientProperties(), new StringSerializer(), new ByteArraySerializer())) {
      for (int i = 0; i < n; i++) {
        p.send(
            new ProducerRecord<>(t.images(), "k" + i, (i == 17 ? "poison" : "v" + i).getBytes()));
      }
    }
    SchemaRegistryClient registry = SchemaRegistryClients.create(platform.clientProperties());
    DeadLetters dls =
        new DeadLetters(
            t.deadLetters(),
            "engine-it",
            new AvroSerializer<DeadLetter>(registry, platform.clientProperties(), false),
            Clock.systemUTC(),
            1 << 20);
    // The engine fails for its first 30 calls: whole batches, then each record alone.
    AtomicInteger faults = new AtomicInteger(30);
    AtomicInteger engineCalls = new AtomicInteger();
    TransactionalLoop.BatchProcessor processor =
        batch -> {
          List<Output> out = new ArrayList<>();
          List<ConsumerRecord<byte[], byte[]>> good = new ArrayList<>();
          for (ConsumerRecord<byte[], byte[]> r : batch) {
            if (new String(r.value()).equals("poison")) {
              out.add(new Output(r, dls.of(r, "UndecodableImage", "not an image"), true, -1));
            } else {
              good.add(r);
            }
          }
          if (!good.isEmpty()) {
            engineCalls.incrementAndGet();
            if (faults.getAndDecrement() > 0) {
              throw new IllegalStateException("engine fault: the device was lost");
            }
          }
          for (ConsumerRecord<byte[], byte[]> r : good) {
            out.add(new Output(r, new ProducerRecord<>(t.tokens(), r.key(), r.value()), false, -1));
          }
          return out;
        };
    WorkerConfig config = new WorkerConfig(workerProps(t, "engine-it"));
    WorkerMetrics metrics = new WorkerMetrics("encode", "engine-it");
    TransactionalLoop loop =
        new TransactionalLoop(
            new TransactionalLoop.Settings(
                "engine-it", List.of(t.images()), 8, Duration.ofMillis(20)),
            () ->
                new KafkaConsumer<>(
                    config.consumerConfig("encode"),
                    new ByteArrayDeserializer(),
                    new ByteArrayDeserializer()),
            () ->
                new KafkaProducer<>(
                    config.producerConfig("encode"),
                    new ByteArraySerializer(),
                    new ByteArraySerializer()),
            processor,
            dls,
            metrics,
            Clock.systemUTC());
    Thread runner = new Thread(loop, "engine-it");
    runner.start();
    try {
      List<ConsumerRecord<String, DeadLetter>> dead =
          readCommitted(t.deadLetters(), DeadLetter.class, 1, Duration.ofSeconds(60));
      Map<String, Long> tokens = countKeys(readRaw(t.tokens(), n - 1));

      assertThat(faults.get()).as("every injected fault happened").isNegative();
      // Each failed batch was tried whole and then record by record: 9 calls per batch of 8.
      assertThat(engineCalls.get()).isGreaterThan(30);
      assertThat(metrics.retryCount()).isGreaterThanOrEqualTo(2);
      assertThat(tokens).hasSize(n - 1).allSatisfy((k, v) -> assertThat(v).isEqualTo(1L));
      assertThat(tokens).doesNotContainKey("k17");
      assertThat(dead).hasSize(1);
      assertThat(dead.get(0).key()).isEqualTo("k17");
      assertThat(dead.get(0).value().getErrorClass().toString()).isEqualTo("UndecodableImage");
      assertThat(loop.problem()).isNull();
    } finally {
      loop.close();
      runner.join(20_000);
      metrics.close();
      registry.close();
    }
  }

  @Test
  @Order(2)
  void aRegistryAnswering401DeadLettersNothingAndEveryImageIsTokenizedOnceAfter() throws Exception {
    TopicLayout t = freshTopics();
    int n = 24;
    produceImages(t.images(), imagesWithTwoBadOnes(n));
    try (RefusingRegistry proxy = new RefusingRegistry(platform.schemaRegistryUrl())) {
      Map<String, Object> props = workerProps(t, "refused-1");
      props.put("schema.registry.url", proxy.url());
      props.put("schema.registry.retries", 0);
      EncodeWorker worker = new EncodeWorker(new WorkerConfig(props));
      Thread thread = runInBackground(worker);
      try {
        awaitTrue(() -> worker.metrics().retryCount() >= 3, "retries while refused");
        assertThat(worker.metrics().recordsOutCount()).isZero();
        assertThat(worker.metrics().deadLetterCount()).isZero();
        HttpResponse<String> ready = get(worker.metricsPort(), "/health/ready");
        assertThat(ready.statusCode()).isEqualTo(503);
        assertThat(ready.body())
            .startsWith("{\"status\":\"DOWN\",\"reason\":")
            .contains("AuthenticationException")
            .contains("none is dead-lettered");

        proxy.refusing = false;
        List<ConsumerRecord<String, TokenRecord>> tokens =
            readCommitted(t.tokens(), TokenRecord.class, n, Duration.ofSeconds(60));
        List<ConsumerRecord<String, DeadLetter>> dead =
            readCommitted(t.deadLetters(), DeadLetter.class, 2, Duration.ofSeconds(10));

        assertThat(proxy.refused.get()).isGreaterThanOrEqualTo(3);
        assertThat(countKeys(tokens)).hasSize(n).allSatisfy((k, v) -> assertThat(v).isEqualTo(1L));
        Map<String, DeadLetter> byKey =
            dead.stream().collect(Collectors.toMap(ConsumerRecord::key, ConsumerRecord::value));
        assertThat(byKey).containsOnlyKeys("not-an-image", "wrong-size");
        assertThat(byKey.get("not-an-image").getErrorClass().toString())
            .isEqualTo("UndecodableImage");
        assertThat(byKey.get("wrong-size").getErrorClass().toString())
            .isEqualTo("DeclaredSizeMismatch");
        assertThat(byKey.get("wrong-size").getReason().toString())
            .contains("declares 9x8 (width x height) but is 8x8");
        awaitTrue(() -> worker.isReady(), "ready again once batches commit");
      } finally {
        worker.close();
        thread.join(30_000);
      }
    }
  }

  @Test
  @Order(3)
  void aRefusalOutlastingTheBoundStopsTheWorkerAndAHealthyOneTokenizesEveryImageOnce()
      throws Exception {
    TopicLayout t = freshTopics();
    int n = 12;
    List<ImageEvent> events = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      events.add(image("img-" + i, TestImages.random(8, 8, "png", i), "image/png"));
    }
    produceImages(t.images(), events);
    AtomicReference<Throwable> died = new AtomicReference<>();
    try (RefusingRegistry proxy = new RefusingRegistry(platform.schemaRegistryUrl())) {
      Map<String, Object> props = workerProps(t, "sick-1");
      props.put("schema.registry.url", proxy.url());
      props.put("schema.registry.retries", 0);
      props.put(WorkerConfig.FAILURE_MAX_DURATION_MS, 1500L);
      EncodeWorker sick = new EncodeWorker(new WorkerConfig(props));
      Thread thread =
          new Thread(
              () -> {
                try {
                  sick.run();
                } catch (Throwable e) {
                  died.set(e);
                } finally {
                  sick.release();
                }
              });
      thread.start();
      thread.join(60_000);
    }

    assertThat(died.get())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("Worker sick-1 has failed for")
        .hasMessageContaining("without committing a batch (failure.max.duration.ms = 1500)")
        .hasMessageContaining("rejected the credentials (HTTP 401)")
        .hasMessageContaining("stay uncommitted for a healthy worker; this worker stops");
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", platform.bootstrapServers()))) {
      assertThat(
              admin
                  .listConsumerGroupOffsets(t.prefix() + "workers")
                  .partitionsToOffsetAndMetadata()
                  .get())
          .as("nothing committed: the images wait for another worker")
          .isEmpty();
    }
    assertThat(readCommitted(t.deadLetters(), DeadLetter.class, 0, Duration.ZERO)).isEmpty();

    EncodeWorker healthy = new EncodeWorker(new WorkerConfig(workerProps(t, "healthy-1")));
    Thread thread = runInBackground(healthy);
    try {
      List<ConsumerRecord<String, TokenRecord>> tokens =
          readCommitted(t.tokens(), TokenRecord.class, n, Duration.ofSeconds(60));
      assertThat(countKeys(tokens)).hasSize(n).allSatisfy((k, v) -> assertThat(v).isEqualTo(1L));
      assertThat(tokens)
          .allSatisfy(r -> assertThat(r.value().getWorkerId()).hasToString("healthy-1"));
    } finally {
      healthy.close();
      thread.join(30_000);
    }
  }

  @Test
  @Order(4)
  void aCompatibleChangeOfImageEventRollsThroughRunningWorkersAndAnIncompatibleOneIsRefused()
      throws Exception {
    TopicLayout t = freshTopics();
    Schema v1 = ImageEvent.getClassSchema();
    Schema optionalString =
        Schema.createUnion(Schema.create(Schema.Type.NULL), Schema.create(Schema.Type.STRING));
    Schema v2 =
        withField(
            v1,
            new Schema.Field(
                "camera", optionalString, "Camera model.", Schema.Field.NULL_DEFAULT_VALUE));
    Schema v3 =
        withField(
            v1, new Schema.Field("camera", Schema.create(Schema.Type.STRING), "Camera.", null));
    EncodeWorker worker = new EncodeWorker(new WorkerConfig(workerProps(t, "evolve-1")));
    Thread thread = runInBackground(worker);
    int n = 10;
    Map<String, Object> props = platform.clientProperties();
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(props);
        KafkaProducer<String, ImageEvent> old =
            new KafkaProducer<>(
                props, new StringSerializer(), new AvroSerializer<>(registry, props, false));
        KafkaProducer<String, GenericRecord> upgraded =
            new KafkaProducer<>(
                props, new StringSerializer(), new AvroSerializer<>(registry, props, false))) {
      // Old and upgraded producers write side by side while the worker runs.
      for (int i = 0; i < n; i++) {
        old.send(
            new ProducerRecord<>(
                t.images(),
                "old-" + i,
                image("old-" + i, TestImages.random(8, 8, "png", i), "image/png")));
        upgraded.send(new ProducerRecord<>(t.images(), "new-" + i, event(v2, "new-" + i, i)));
      }
      old.flush();
      upgraded.flush();
      List<ConsumerRecord<String, TokenRecord>> tokens =
          readCommitted(t.tokens(), TokenRecord.class, 2 * n, Duration.ofSeconds(60));

      assertThat(countKeys(tokens))
          .hasSize(2 * n)
          .allSatisfy((k, v) -> assertThat(v).isEqualTo(1L));
      assertThat(worker.metrics().deadLetterCount()).isZero();
      assertThat(registry.versions(t.images() + "-value")).hasSize(2);

      try (KafkaProducer<String, GenericRecord> wrong =
          new KafkaProducer<>(
              props, new StringSerializer(), new AvroSerializer<>(registry, props, false))) {
        assertThatThrownBy(
                () -> wrong.send(new ProducerRecord<>(t.images(), "v3", event(v3, "v3", 0))))
            .isInstanceOfSatisfying(
                SchemaRegistryException.class,
                e -> {
                  assertThat(e.httpStatus()).isEqualTo(409);
                  assertThat(e.errorCode()).isEqualTo(SchemaRegistryException.INCOMPATIBLE_SCHEMA);
                })
            .hasMessageContaining("incompatible with an earlier schema for subject '" + t.images())
            .hasMessageContaining("(compatibility BACKWARD)")
            .hasMessageContaining("(HTTP 409, error code 409)");
      }
      assertThat(registry.versions(t.images() + "-value")).hasSize(2);
    } finally {
      worker.close();
      thread.join(30_000);
    }
  }

  private static Schema withField(Schema record, Schema.Field extra) {
    List<Schema.Field> fields = new ArrayList<>();
    for (Schema.Field f : record.getFields()) {
      fields.add(new Schema.Field(f, f.schema()));
    }
    fields.add(extra);
    return Schema.createRecord(
        record.getName(), record.getDoc(), record.getNamespace(), false, fields);
  }

  private static GenericRecord event(Schema schema, String id, int seed) {
    GenericData.Record r = new GenericData.Record(schema);
    r.put("id", id);
    r.put("source", "upgraded producer");
    r.put("content_type", "image/png");
    r.put("image_bytes", ByteBuffer.wrap(TestImages.random(8, 8, "png", 100 + seed)));
    r.put("event_time", Instant.now());
    r.put("attributes", Map.of());
    r.put("camera", "cam-" + seed);
    return r;
  }

  @Test
  @Order(99)
  void anUnreachableBrokerIsReportedOnceAndTheWorkerResumesByItselfWhenItReturns()
      throws Exception {
    TopicLayout t = freshTopics();
    int n = 10;
    produceImages(t.images(), images(0, n));
    Logger watchLog = (Logger) LoggerFactory.getLogger(BrokerWatch.class);
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    watchLog.addAppender(lines);
    EncodeWorker worker = new EncodeWorker(new WorkerConfig(workerProps(t, "outage-b1")));
    Thread thread = runInBackground(worker);
    try {
      assertThat(readCommitted(t.tokens(), TokenRecord.class, n, Duration.ofSeconds(60)))
          .hasSize(n);
      awaitTrue(worker::isReady, "ready before the outage");
      assertThat(get(worker.metricsPort(), "/health/ready").statusCode()).isEqualTo(200);

      platform.broker().close();
      awaitTrue(() -> worker.notReadyReason() != null, "not ready while the broker is away");
      HttpResponse<String> down = get(worker.metricsPort(), "/health/ready");
      assertThat(down.statusCode()).isEqualTo(503);
      assertThat(down.body())
          .startsWith("{\"status\":\"DOWN\",\"reason\":\"cannot reach the Kafka brokers at ")
          .contains(platform.bootstrapServers());

      platform.broker().start();
      awaitTrue(worker::isReady, "ready again once the broker is back");
      produceImages(t.images(), images(n, 2 * n));
      List<ConsumerRecord<String, TokenRecord>> tokens =
          readCommitted(t.tokens(), TokenRecord.class, 2 * n, Duration.ofSeconds(60));

      Map<String, Long> counts =
          tokens.stream()
              .collect(Collectors.groupingBy(ConsumerRecord::key, Collectors.counting()));
      assertThat(counts).hasSize(2 * n).allSatisfy((k, v) -> assertThat(v).isEqualTo(1L));
      assertThat(readCommitted(t.deadLetters(), DeadLetter.class, 0, Duration.ZERO)).isEmpty();
      assertThat(messages(lines, "cannot reach the Kafka brokers")).isEqualTo(1);
      assertThat(messages(lines, "reaches the Kafka brokers at")).isEqualTo(1);
    } finally {
      watchLog.detachAppender(lines);
      worker.close();
      thread.join(30_000);
    }
  }

  private static long messages(ListAppender<ILoggingEvent> lines, String text) {
    return lines.list.stream()
        .filter(e -> e.getFormattedMessage().contains(text))
        .filter(e -> !e.getFormattedMessage().contains("still cannot reach"))
        .count();
  }

  private static List<ImageEvent> images(int from, int to) {
    List<ImageEvent> events = new ArrayList<>();
    for (int i = from; i < to; i++) {
      events.add(image("img-" + i, TestImages.random(8, 8, "png", i), "image/png"));
    }
    return events;
  }

  private static List<ImageEvent> imagesWithTwoBadOnes(int good) {
    List<ImageEvent> events = new ArrayList<>();
    for (int i = 0; i < good; i++) {
      ImageEvent e = image("img-" + i, TestImages.random(8, 8, "png", i), "image/png");
      if (i % 2 == 0) {
        e.setWidth(8); // declared and right
        e.setHeight(8);
      }
      events.add(e);
      if (i == good / 2) {
        events.add(image("not-an-image", "no pixels here".getBytes(), "image/png"));
        ImageEvent wrong = image("wrong-size", TestImages.random(8, 8, "png", 99), "image/png");
        wrong.setWidth(9);
        wrong.setHeight(8);
        events.add(wrong);
      }
    }
    return events;
  }

  private static <V> Map<String, Long> countKeys(List<ConsumerRecord<String, V>> records) {
    return records.stream()
        .collect(Collectors.groupingBy(ConsumerRecord::key, Collectors.counting()));
  }

  /** Committed records of {@code topic} with their keys as text and the raw values. */
  private static List<ConsumerRecord<String, byte[]>> readRaw(String topic, int n) {
    Map<String, Object> c = new HashMap<>(platform.clientProperties());
    c.put("group.id", "reader-" + System.nanoTime());
    c.put("auto.offset.reset", "earliest");
    c.put("isolation.level", "read_committed");
    List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(
            c,
            new org.apache.kafka.common.serialization.StringDeserializer(),
            new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (out.size() < n && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
      }
      long extra = System.nanoTime() + Duration.ofSeconds(2).toNanos();
      while (System.nanoTime() < extra) {
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
      }
    }
    return out;
  }

  static HttpResponse<String> get(int port, String path) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
            HttpResponse.BodyHandlers.ofString());
  }

  static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  /**
   * A schema registry in front of the real one that answers 401 while {@link #refusing}, as a
   * registry does to a client whose credentials were rotated away.
   */
  static final class RefusingRegistry implements AutoCloseable {
    final HttpServer http;
    final String target;
    final HttpClient client = HttpClient.newHttpClient();
    final AtomicInteger refused = new AtomicInteger();
    volatile boolean refusing = true;

    RefusingRegistry(String target) throws IOException {
      this.target = target.replaceAll("/+$", "");
      http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      http.createContext("/", this::handle);
      http.setExecutor(Executors.newFixedThreadPool(2));
      http.start();
    }

    String url() {
      return "http://127.0.0.1:" + http.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
      int status;
      byte[] body;
      if (refusing) {
        refused.incrementAndGet();
        status = 401;
        body = "{\"error_code\":401,\"message\":\"Unauthorized\"}".getBytes(StandardCharsets.UTF_8);
      } else {
        byte[] in = ex.getRequestBody().readAllBytes();
        HttpRequest.Builder b =
            HttpRequest.newBuilder(URI.create(target + ex.getRequestURI()))
                .method(
                    ex.getRequestMethod(),
                    in.length == 0
                        ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(in));
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        if (type != null) {
          b.header("Content-Type", type);
        }
        try {
          HttpResponse<byte[]> r = client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
          status = r.statusCode();
          body = r.body();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException(e);
        }
      }
      ex.getResponseHeaders().set("Content-Type", "application/vnd.schemaregistry.v1+json");
      ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
      try (OutputStream os = ex.getResponseBody()) {
        os.write(body);
      }
    }

    @Override
    public void close() {
      http.stop(0);
    }
  }
}
