package io.softstream.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.model.TokenizerConfig;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelStatus;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.access.AccessPolicy.Role;
import io.softstream.topology.models.ModelRegistry;
import io.softstream.topology.streams.StreamsApps;
import io.softstream.topology.streams.StreamsRunner;
import io.softstream.topology.streams.StreamsSettings;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The platform in secure mode (SASL/SCRAM over TLS, ACLs from AccessPolicy, registry over HTTPS
 * with basic auth): the right principals run the ingest gate and an encode worker end to end, wrong
 * ones are refused, and no secret reaches the logs or /metrics.
 */
@Tag("integration")
class SecurePlatformIT {
  private static final TopicLayout TOPICS = TopicLayout.of("s-");
  private static EmbeddedPlatform platform;
  private static Path dir;
  private static Path model;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("secure-it-");
    platform = EmbeddedPlatform.startSecure(dir.resolve("platform"), 0, 0, TOPICS);
    model =
        TestImages.tinyModel(dir.resolve("model"), TokenizerConfig.tiny("softvq"), "tiny-softvq");
  }

  @AfterAll
  static void stop() {
    if (platform != null) {
      platform.close();
    }
  }

  @Test
  void rightPrincipalsRunIngestGateAndEncodeWorkerEndToEndAndNoSecretReachesLogsOrMetrics()
      throws Exception {
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger kafka = ctx.getLogger("org.apache.kafka");
    Level kafkaLevel = kafka.getLevel();
    // Kafka clients print their whole configuration at INFO: capture that too.
    kafka.setLevel(Level.INFO);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    ctx.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(logs);
    String metrics;
    Map<String, KafkaStreams.State> streamsStates;
    List<String> ids = new ArrayList<>();
    List<ConsumerRecord<String, TokenRecord>> tokens;
    try {
      List<ImageEvent> images = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        ids.add("sec-" + i);
        images.add(image("sec-" + i, TestImages.random(10 + i, 9, "png", i)));
      }
      // Images in through the ingest gate; the Streams apps (all three) have their own principal.
      produce(platform.clientProperties(Role.PRODUCER), TOPICS.ingest(), images);
      Map<String, Object> s = new HashMap<>(platform.clientProperties(Role.STREAMS_APPS));
      s.put(StreamsSettings.TOPIC_PREFIX, TOPICS.prefix());
      s.put(StreamsSettings.STATE_DIR, dir.resolve("streams").toString());
      s.put(StreamsSettings.METRICS_PORT, 0);
      s.put("commit.interval.ms", 100);

      Map<String, Object> props = new HashMap<>(platform.clientProperties(Role.ENCODE_WORKER));
      props.put(WorkerConfig.WORKER_ID, "enc-secure");
      props.put(WorkerConfig.TOPIC_PREFIX, TOPICS.prefix());
      props.put(WorkerConfig.MODEL_DIR, model.toString());
      props.put(WorkerConfig.ENGINE, "pytorch");
      props.put(WorkerConfig.METRICS_PORT, 0);
      EncodeWorker worker = new EncodeWorker(new WorkerConfig(props));
      Thread thread = worker.startInBackground("secure-encode");
      try (StreamsRunner gate = new StreamsRunner(new StreamsSettings(s), StreamsApps.all())) {
        gate.start();
        tokens =
            readTokens(platform.clientProperties(Role.TOKEN_READER), 12, Duration.ofSeconds(60));
        metrics = get(worker.metricsPort(), "/metrics") + gate.scrape();
        // Each app created its internal topics and joined its group under its own prefix ACLs.
        streamsStates = gate.states();
      } finally {
        worker.close();
        thread.join(30_000);
      }
    } finally {
      ctx.getLogger(Logger.ROOT_LOGGER_NAME).detachAppender(logs);
      kafka.setLevel(kafkaLevel);
    }

    assertThat(streamsStates)
        .containsOnlyKeys("ingest", "generation", "stats")
        .allSatisfy(
            (app, state) -> assertThat(state).as(app).isEqualTo(KafkaStreams.State.RUNNING));
    assertThat(tokens).extracting(ConsumerRecord::key).containsExactlyInAnyOrderElementsOf(ids);
    assertThat(tokens).allSatisfy(r -> assertThat(r.value().getTokenCount()).isEqualTo(4));
    // The gate hashed every image on the way (the token cache's key).
    assertThat(tokens).allSatisfy(r -> assertThat(r.value().getContentSha256()).hasSize(64));
    assertThat(metrics)
        .contains("softstream_records_out_total{role=\"encode\",worker=\"enc-secure\"} 12.0");

    // The logs did show the security settings, hidden; no password or store secret anywhere.
    String logText =
        String.join("\n", logs.list.stream().map(ILoggingEvent::getFormattedMessage).toList());
    assertThat(logText).contains("sasl.jaas.config = [hidden]");
    String brokerLog =
        Files.readString(dir.resolve("platform/kafka/broker.log"), StandardCharsets.UTF_8);
    List<String> secrets = secrets();
    assertThat(secrets).hasSizeGreaterThanOrEqualTo(10);
    for (String s : secrets) {
      assertThat(logText).doesNotContain(s);
      assertThat(metrics).doesNotContain(s);
      assertThat(brokerLog).doesNotContain(s);
    }
  }

  @Test
  void wrongPrincipalsCanNeitherReadTokensNorPublishAModelVersion() throws Exception {
    // A grant that AccessPolicy does not declare (by hand, or from an older policy) does not
    // survive the platform's grant step.
    try (Admin admin = Admin.create(platform.adminProperties())) {
      AclBinding extra =
          new AclBinding(
              new ResourcePattern(ResourceType.TOPIC, TOPICS.tokens(), PatternType.LITERAL),
              new AccessControlEntry(
                  Role.PRODUCER.principal(), "*", AclOperation.READ, AclPermissionType.ALLOW));
      admin.createAcls(List.of(extra)).all().get();
      platform.security().orElseThrow().grant(admin, TOPICS);
      assertThat(admin.describeAcls(extra.toFilter()).values().get()).isEmpty();
    }

    // The producer principal may write images, not read tokens.
    Map<String, Object> c = new HashMap<>(platform.clientProperties(Role.PRODUCER));
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.assign(List.of(new TopicPartition(TOPICS.tokens(), 0)));
      consumer.seekToBeginning(consumer.assignment());
      assertThatThrownBy(() -> consumer.poll(Duration.ofSeconds(10)))
          .isInstanceOf(TopicAuthorizationException.class)
          .hasMessageContaining("Not authorized to access topics: [" + TOPICS.tokens() + "]");
    }

    // An encode worker may read model versions, not publish them: neither the artifact nor the
    // announcement goes through. The trainer's principal may.
    try (SchemaRegistryClient schemas =
            SchemaRegistryClients.create(platform.clientProperties(Role.ENCODE_WORKER));
        ModelRegistry models =
            new ModelRegistry(platform.clientProperties(Role.ENCODE_WORKER), schemas, TOPICS)) {
      assertThatThrownBy(
              () ->
                  models.publish(
                      model, "tiny-softvq", ModelKind.ENCODER, 2, Map.of(), ModelStatus.ACTIVE))
          .hasMessageContaining("Could not upload artifact tiny-softvq")
          .hasRootCauseInstanceOf(TopicAuthorizationException.class)
          .hasRootCauseMessage(
              "Not authorized to access topics: [" + TOPICS.modelArtifacts() + "]");
      assertThatThrownBy(() -> models.announce(version(2)))
          .hasMessageContaining("Could not announce tiny-softvq:2")
          .hasRootCauseInstanceOf(TopicAuthorizationException.class)
          .hasRootCauseMessage("Not authorized to access topics: [" + TOPICS.modelVersions() + "]");
    }
    try (SchemaRegistryClient schemas =
            SchemaRegistryClients.create(platform.clientProperties(Role.TRAINER));
        ModelRegistry models =
            new ModelRegistry(platform.clientProperties(Role.TRAINER), schemas, TOPICS)) {
      ModelVersion v =
          models.publish(
              model, "tiny-softvq", ModelKind.ENCODER, 3, Map.of(), ModelStatus.CANDIDATE);
      assertThat(v.getArtifactLocation())
          .endsWith(TOPICS.modelArtifacts() + "/tiny-softvq:ENCODER:3");
      assertThat(models.fetch(v, Duration.ofSeconds(30))).hasSize((int) v.getSizeBytes());
    }
  }

  @Test
  void registryAnswersOnlyAuthenticatedClientsOverTls() throws Exception {
    String url = platform.schemaRegistryUrl();
    assertThat(url).startsWith("https://");
    HttpClient http =
        HttpClient.newBuilder()
            .sslContext(platform.security().orElseThrow().clientSslContext())
            .build();
    String reader = Role.TOKEN_READER.principalName();
    String password = platform.security().orElseThrow().password(Role.TOKEN_READER);
    assertThat(status(http, url + "/subjects", null)).isEqualTo(401);
    assertThat(status(http, url + "/subjects", reader + ":wrong-" + password)).isEqualTo(401);
    assertThat(status(http, url + "/subjects", "nobody:" + password)).isEqualTo(401);
    assertThat(status(http, url + "/subjects", reader + ":" + password)).isEqualTo(200);

    // The project's own client: a clear 401 without credentials, the subjects with them.
    try (SchemaRegistryClient anonymous =
        SchemaRegistryClients.create(platform.clientProperties())) {
      assertThatThrownBy(anonymous::subjects)
          .isInstanceOf(org.apache.kafka.common.errors.AuthenticationException.class)
          .hasMessageContaining("HTTP 401");
    }
    try (SchemaRegistryClient client =
        SchemaRegistryClients.create(platform.clientProperties(Role.TOKEN_READER))) {
      assertThat(client.subjects()).isNotNull();
    }
  }

  private static int status(HttpClient http, String url, String userInfo) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url));
    if (userInfo != null) {
      b.header(
          "Authorization",
          "Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8)));
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  /** Every value of the platform's credentials file but the port: passwords of stores and roles. */
  private static List<String> secrets() throws Exception {
    Properties p = new Properties();
    try (InputStream in =
        Files.newInputStream(dir.resolve("platform/secure/credentials.properties"))) {
      p.load(in);
    }
    p.remove("internal.port");
    return p.values().stream().map(String::valueOf).toList();
  }

  private static ModelVersion version(int v) {
    return ModelVersion.newBuilder()
        .setName("tiny-softvq")
        .setKind(ModelKind.ENCODER)
        .setVersion(v)
        .setArtifactLocation("kafka://nowhere")
        .setSha256("0")
        .setSizeBytes(0)
        .setMetrics(Map.of())
        .setCreatedAt(Instant.now())
        .setStatus(ModelStatus.ACTIVE)
        .build();
  }

  private static ImageEvent image(String id, byte[] png) {
    return ImageEvent.newBuilder()
        .setId(id)
        .setSource("secure-test")
        .setContentType("image/png")
        .setImageBytes(java.nio.ByteBuffer.wrap(png))
        .setEventTime(Instant.now())
        .build();
  }

  private static void produce(Map<String, Object> props, String topic, List<ImageEvent> events)
      throws Exception {
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(props);
        KafkaProducer<String, ImageEvent> p =
            new KafkaProducer<>(
                props, new StringSerializer(), new AvroSerializer<>(registry, props, false))) {
      for (ImageEvent e : events) {
        p.send(new ProducerRecord<>(topic, e.getId(), e)).get();
      }
    }
  }

  /** Reads committed tokens in the reader principal's group namespace until {@code n} arrived. */
  private static List<ConsumerRecord<String, TokenRecord>> readTokens(
      Map<String, Object> props, int n, Duration timeout) {
    Map<String, Object> c = new HashMap<>(props);
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "softstream-tokens-secure-it");
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    List<ConsumerRecord<String, TokenRecord>> out = new ArrayList<>();
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(props);
        KafkaConsumer<String, TokenRecord> consumer =
            new KafkaConsumer<>(
                c, new StringDeserializer(), new AvroDeserializer<>(registry, TokenRecord.class))) {
      consumer.subscribe(List.of(TOPICS.tokens()));
      long deadline = System.nanoTime() + timeout.toNanos();
      while (out.size() < n && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(300)).forEach(out::add);
      }
    }
    return out;
  }

  private static String get(int port, String path) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }
}
