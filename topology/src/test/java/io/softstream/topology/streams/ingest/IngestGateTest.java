package io.softstream.topology.streams.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelStatus;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.avro.TokenDtype;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.images.ContentHash;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroSerdes;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.models.ModelCatalog;
import io.softstream.topology.streams.StreamsSettings;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import javax.imageio.ImageIO;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IngestGateTest {
  static final AtomicInteger SEQ = new AtomicInteger();
  static final TopicLayout T = TopicLayout.defaults();

  @TempDir Path state;
  TopologyTestDriver driver;
  SchemaRegistryClient registry;
  Map<String, Object> serde;
  TestInputTopic<byte[], byte[]> ingest;
  TestInputTopic<String, ModelVersion> models;
  TestInputTopic<String, TokenRecord> tokensIn;
  TestOutputTopic<byte[], byte[]> images;
  TestOutputTopic<String, TokenRecord> tokensOut;
  TestOutputTopic<byte[], DeadLetter> deadLetters;
  Serde<ImageEvent> imageSerde;
  long announcements;

  Map<String, Object> props(Map<String, Object> extra) {
    Map<String, Object> p = new HashMap<>();
    p.put("bootstrap.servers", "unused:9092");
    p.put("schema.registry.url", "mock://ingest-gate-" + SEQ.incrementAndGet());
    p.put(StreamsSettings.STATE_DIR, state.toString());
    p.put(StreamsSettings.IMAGE_MAX_BYTES, 100_000);
    p.put(StreamsSettings.IMAGE_MAX_PIXELS, 1_000_000L);
    p.put(StreamsSettings.CACHE_RETENTION_MS, 3_600_000L);
    p.putAll(extra);
    return p;
  }

  void start(Map<String, Object> extra) {
    StreamsSettings settings = new StreamsSettings(props(extra));
    serde = settings.serdeConfig();
    registry = SchemaRegistryClients.create(serde);
    driver =
        new TopologyTestDriver(
            new IngestGateApp().topology(settings),
            settings.streamsProperties(IngestGateApp.NAME),
            Instant.parse("2026-01-01T00:00:00Z"));
    imageSerde = AvroSerdes.specific(ImageEvent.class, registry, serde, false);
    Serde<TokenRecord> tokenSerde = AvroSerdes.specific(TokenRecord.class, registry, serde, false);
    Serde<ModelVersion> modelSerde =
        AvroSerdes.specific(ModelVersion.class, registry, serde, false);
    Serde<DeadLetter> dlSerde = AvroSerdes.specific(DeadLetter.class, registry, serde, false);
    ingest =
        driver.createInputTopic(
            T.ingest(), Serdes.ByteArray().serializer(), Serdes.ByteArray().serializer());
    models =
        driver.createInputTopic(
            T.modelVersions(), Serdes.String().serializer(), modelSerde.serializer());
    tokensIn =
        driver.createInputTopic(T.tokens(), Serdes.String().serializer(), tokenSerde.serializer());
    images =
        driver.createOutputTopic(
            T.images(), Serdes.ByteArray().deserializer(), Serdes.ByteArray().deserializer());
    tokensOut =
        driver.createOutputTopic(
            T.tokens(), Serdes.String().deserializer(), tokenSerde.deserializer());
    deadLetters =
        driver.createOutputTopic(
            T.deadLetters(), Serdes.ByteArray().deserializer(), dlSerde.deserializer());
  }

  @BeforeEach
  void startDefault() {
    start(Map.of());
  }

  @AfterEach
  void close() {
    driver.close();
  }

  // --- inputs ---

  static byte[] image(String format, int w, int h, long seed) {
    Random r = new Random(seed);
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        img.setRGB(x, y, r.nextInt(0xffffff));
      }
    }
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      assertThat(ImageIO.write(img, format, out)).isTrue();
      return out.toByteArray();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** A lossless WebP (VP8L) header declaring {@code w x h}; the gate reads no further. */
  static byte[] webpHeader(int w, int h) {
    ByteBuffer b = ByteBuffer.allocate(40).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.put("RIFF".getBytes()).putInt(32).put("WEBPVP8L".getBytes()).putInt(20).put((byte) 0x2f);
    b.putInt((w - 1) | (h - 1) << 14);
    return b.array();
  }

  /** A PNG signature and IHDR that claim {@code w x h}, then nothing (a decompression bomb). */
  static byte[] pngHeader(int w, int h) {
    ByteBuffer b = ByteBuffer.allocate(33);
    b.put(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a});
    b.putInt(13).put("IHDR".getBytes()).putInt(w).putInt(h).put(new byte[] {8, 2, 0, 0, 0});
    return b.array();
  }

  static ImageEvent event(String id, byte[] bytes, String type, Instant eventTime) {
    return ImageEvent.newBuilder()
        .setId(id)
        .setSource("test")
        .setContentType(type)
        .setImageBytes(ByteBuffer.wrap(bytes))
        .setEventTime(eventTime)
        .build();
  }

  byte[] avro(ImageEvent e) {
    return imageSerde.serializer().serialize(T.ingest(), e);
  }

  void send(String key, ImageEvent e) {
    ingest.pipeInput(key == null ? null : key.getBytes(StandardCharsets.UTF_8), avro(e));
  }

  void announce(String name, int version, ModelStatus status) {
    ModelVersion v =
        ModelVersion.newBuilder()
            .setName(name)
            .setKind(ModelKind.ENCODER)
            .setVersion(version)
            .setArtifactLocation("kafka://model-artifacts/" + name + "-" + version)
            .setSha256("0".repeat(64))
            .setSizeBytes(1)
            .setCreatedAt(Instant.ofEpochMilli(++announcements))
            .setStatus(status)
            .build();
    models.pipeInput(ModelCatalog.key(name, ModelKind.ENCODER, version), v);
  }

  static TokenRecord tokens(String imageId, String model, int version, byte[] image, byte fill) {
    byte[] packed = new byte[4 * 2 * 2];
    java.util.Arrays.fill(packed, fill);
    return TokenRecord.newBuilder()
        .setImageId(imageId)
        .setModelName(model)
        .setModelVersion(version)
        .setTokenCount(4)
        .setTokenDim(2)
        .setDtype(TokenDtype.FP16)
        .setTokens(ByteBuffer.wrap(packed))
        .setEncodeLatencyMicros(1234)
        .setSourceTopic(T.images())
        .setSourcePartition(0)
        .setSourceOffset(0)
        .setEventTime(Instant.EPOCH)
        .setContentSha256(ContentHash.sha256Hex(ByteBuffer.wrap(image)))
        .build();
  }

  DeadLetter onlyDeadLetter() {
    List<DeadLetter> l = deadLetters.readValuesToList();
    assertThat(l).hasSize(1);
    assertThat(images.isEmpty()).isTrue();
    return l.get(0);
  }

  double metric(String name) {
    return driver.metrics().entrySet().stream()
        .filter(
            e ->
                e.getKey().group().equals("stream-" + Gate.METRICS_GROUP + "-metrics")
                    && e.getKey().name().equals(name))
        .mapToDouble(e -> ((Number) e.getValue().metricValue()).doubleValue())
        .sum();
  }

  // --- the gate ---

  @Test
  void goodImagesOfEveryFormatGoToImagesUnchanged() {
    Map<String, byte[]> in =
        Map.of(
            "png", image("png", 20, 10, 1),
            "jpeg", image("jpg", 20, 10, 2),
            "gif", image("gif", 20, 10, 3),
            "bmp", image("bmp", 20, 10, 4),
            "webp", webpHeader(20, 10));
    for (var e : in.entrySet()) {
      send("id-" + e.getKey(), event("id-" + e.getKey(), e.getValue(), "image/x", Instant.now()));
    }
    var out = images.readKeyValuesToList();
    assertThat(out).hasSize(5);
    for (var kv : out) {
      String id = new String(kv.key, StandardCharsets.UTF_8);
      ImageEvent e = imageSerde.deserializer().deserialize(T.images(), kv.value);
      assertThat(e.getId()).isEqualTo(id);
      assertThat(e.getImageBytes()).isEqualTo(ByteBuffer.wrap(in.get(id.substring(3))));
    }
    assertThat(deadLetters.isEmpty()).isTrue();
    assertThat(metric("forwarded-total")).isEqualTo(5);
  }

  @Test
  void theGateCommitsTwiceAsOftenAndPollsShorterThanTheOtherAppsUnlessTold() {
    StreamsSettings settings = new StreamsSettings(props(Map.of()));
    assertThat(settings.streamsProperties(IngestGateApp.NAME))
        .containsEntry(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 50)
        .containsEntry(StreamsConfig.POLL_MS_CONFIG, 10L)
        .containsEntry(StreamsConfig.producerPrefix("retry.backoff.ms"), 10);
    assertThat(settings.streamsProperties("stats"))
        .doesNotContainKey(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG)
        .doesNotContainKey(StreamsConfig.POLL_MS_CONFIG);
    StreamsSettings told =
        new StreamsSettings(props(Map.of(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "200")));
    assertThat(told.streamsProperties(IngestGateApp.NAME))
        .containsEntry(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "200");
  }

  @Test
  void badWireFormatIsDeadLetteredAsNotConfluentAvro() {
    ingest.pipeInput("k".getBytes(), "{\"id\":\"json\"}".getBytes());
    DeadLetter dl = onlyDeadLetter();
    assertThat(dl.getErrorClass()).isEqualTo("NotConfluentAvro");
    assertThat(dl.getOriginalTopic()).isEqualTo(T.ingest());
    assertThat(dl.getPayload()).isEqualTo(ByteBuffer.wrap("{\"id\":\"json\"}".getBytes()));
    assertThat(dl.getWorkerId()).isEqualTo("softstream-ingest");
  }

  @Test
  void anotherSchemaIsDeadLetteredAsWrongSchema() {
    Serde<TokenRecord> ts = AvroSerdes.specific(TokenRecord.class, registry, serde, false);
    ingest.pipeInput(
        "k".getBytes(),
        ts.serializer()
            .serialize(T.ingest() + "-other", tokens("x", "m", 1, new byte[1], (byte) 1)));
    assertThat(onlyDeadLetter().getErrorClass()).isEqualTo("WrongSchema");
  }

  @Test
  void unknownContentIsDeadLetteredWithTheWorkersReason() {
    byte[] junk = "not an image at all".getBytes();
    send("k", event("k", junk, "image/png", Instant.now()));
    DeadLetter dl = onlyDeadLetter();
    assertThat(dl.getErrorClass()).isEqualTo("UndecodableImage");
    assertThat(dl.getReason())
        .isEqualTo(
            "No image decoder recognises these 19 bytes (content type 'image/png'); "
                + "accepted: PNG, JPEG, BMP, GIF, WebP, TIFF.");
  }

  @Test
  void oversizedPayloadIsDeadLettered() {
    byte[] big = new byte[100_001];
    System.arraycopy(image("png", 4, 4, 5), 0, big, 0, 50);
    send("k", event("k", big, "image/png", Instant.now()));
    DeadLetter dl = onlyDeadLetter();
    assertThat(dl.getErrorClass()).isEqualTo("OversizedPayload");
    assertThat(dl.getReason())
        .isEqualTo(
            "The image has 100001 bytes; the ingest gate accepts at most 100000 (image.max.bytes).");
  }

  @Test
  void aDeclaredSizeThatIsNotTheImagesIsDeadLetteredWithBothSizes() {
    ImageEvent right = event("ok", image("png", 4, 4, 5), "image/png", Instant.now());
    right.setWidth(4);
    right.setHeight(4);
    send("ok", right);
    assertThat(images.readValuesToList()).as("declared and right").hasSize(1);
    ImageEvent wrong = event("k", image("png", 4, 4, 5), "image/png", Instant.now());
    wrong.setWidth(640);
    send("k", wrong);
    DeadLetter dl = onlyDeadLetter();
    assertThat(dl.getErrorClass()).isEqualTo("DeclaredSizeMismatch");
    assertThat(dl.getReason())
        .isEqualTo(
            "Image k declares 640x? (width x height) but is 4x4: send the image's true size, or "
                + "leave width and height null.");
  }

  @Test
  void tooManyDeclaredPixelsIsDeadLetteredWithoutDecoding() {
    send("k", event("k", pngHeader(20_000, 20_000), "image/png", Instant.now()));
    DeadLetter dl = onlyDeadLetter();
    assertThat(dl.getErrorClass()).isEqualTo("OversizedImage");
    assertThat(dl.getReason())
        .isEqualTo(
            "The png image is 20000x20000 = 400000000 pixels; the ingest gate accepts at most "
                + "1000000 (image.max.pixels).");
  }

  @Test
  void missingIdAndTombstonesAreDeadLettered() {
    send("k", event("", image("png", 4, 4, 6), "image/png", Instant.now()));
    ingest.pipeInput("t".getBytes(), (byte[]) null);
    List<DeadLetter> l = deadLetters.readValuesToList();
    assertThat(l).extracting(DeadLetter::getErrorClass).containsExactly("MissingId", "EmptyRecord");
    assertThat(images.isEmpty()).isTrue();
    assertThat(metric("dead-letter-total")).isEqualTo(2);
  }

  // --- the token cache ---

  @Test
  void identicalBytesAreAnsweredFromTheCacheOfTheActiveVersion() {
    announce("enc", 1, ModelStatus.ACTIVE);
    byte[] img = image("png", 8, 8, 7);
    send("a1", event("a1", img, "image/png", Instant.ofEpochMilli(10)));
    assertThat(images.readKeyValuesToList()).hasSize(1); // a miss goes to the workers
    tokensIn.pipeInput("a1", tokens("a1", "enc", 1, img, (byte) 7)); // what the worker wrote
    tokensOut.readValuesToList(); // (the driver echoes the input topic)

    send("a2", event("a2", img, "image/png", Instant.ofEpochMilli(20)));
    assertThat(images.isEmpty()).isTrue();
    List<TokenRecord> hits = tokensOut.readValuesToList();
    assertThat(hits).hasSize(1);
    TokenRecord hit = hits.get(0);
    assertThat(hit.getImageId()).isEqualTo("a2");
    assertThat(hit.getCacheHit()).isTrue();
    assertThat(hit.getTokens()).isEqualTo(tokens("a1", "enc", 1, img, (byte) 7).getTokens());
    assertThat(hit.getModelVersion()).isEqualTo(1);
    assertThat(hit.getSourceTopic()).isEqualTo(T.ingest());
    assertThat(hit.getEventTime()).isEqualTo(Instant.ofEpochMilli(20));
    assertThat(metric("hit-total")).isEqualTo(1);
    assertThat(metric("miss-total")).isEqualTo(1);

    // Other bytes miss.
    send("b1", event("b1", image("png", 8, 8, 8), "image/png", Instant.now()));
    assertThat(images.readKeyValuesToList()).hasSize(1);
  }

  @Test
  void aNewModelVersionMissesAndARollbackHitsAgain() {
    announce("enc", 1, ModelStatus.ACTIVE);
    byte[] img = image("png", 8, 8, 9);
    tokensIn.pipeInput("a1", tokens("a1", "enc", 1, img, (byte) 1));
    announce("enc", 2, ModelStatus.ACTIVE);
    send("a2", event("a2", img, "image/png", Instant.now()));
    assertThat(images.readKeyValuesToList()).hasSize(1);
    announce("enc", 1, ModelStatus.ACTIVE); // rollback: v1 announced ACTIVE again, later offset
    tokensOut.readValuesToList();
    send("a3", event("a3", img, "image/png", Instant.now()));
    assertThat(images.isEmpty()).isTrue();
    assertThat(tokensOut.readValuesToList()).extracting(TokenRecord::getImageId).contains("a3");
  }

  @Test
  void outOfOrderRecordsAreAllRoutedAndLateTokensStillFillTheCache() {
    announce("enc", 1, ModelStatus.ACTIVE);
    byte[] img = image("png", 8, 8, 10);
    // Record timestamps and event times going backwards: the gate keeps no window, each is routed.
    ingest.pipeInput(
        "x3".getBytes(),
        avro(event("x3", img, "image/png", Instant.ofEpochMilli(300))),
        driverNow() + 3000);
    ingest.pipeInput(
        "x2".getBytes(),
        avro(event("x2", img, "image/png", Instant.ofEpochMilli(200))),
        driverNow() + 2000);
    assertThat(images.readKeyValuesToList())
        .extracting(kv -> new String(kv.key))
        .containsExactly("x3", "x2");
    // The worker's token for x3 arrives after x2 was sent on: x2 stays a miss, x1 hits.
    tokensIn.pipeInput("x3", tokens("x3", "enc", 1, img, (byte) 3), driverNow() + 1000);
    tokensOut.readValuesToList();
    ingest.pipeInput(
        "x1".getBytes(),
        avro(event("x1", img, "image/png", Instant.ofEpochMilli(100))),
        driverNow() + 1000);
    assertThat(tokensOut.readValuesToList())
        .extracting(TokenRecord::getImageId)
        .containsExactly("x1");
    // A token of an older version arriving late does not serve the active one.
    byte[] other = image("png", 8, 8, 11);
    tokensIn.pipeInput("y0", tokens("y0", "enc", 0, other, (byte) 0));
    send("y1", event("y1", other, "image/png", Instant.now()));
    assertThat(images.readKeyValuesToList()).hasSize(1);
  }

  @Test
  void expiredEntriesMissAndArePurged() {
    announce("enc", 1, ModelStatus.ACTIVE);
    byte[] img = image("png", 8, 8, 12);
    tokensIn.pipeInput("a1", tokens("a1", "enc", 1, img, (byte) 1), driverNow());
    driver.advanceWallClockTime(Duration.ofHours(2));
    send("a2", event("a2", img, "image/png", Instant.now()));
    assertThat(images.readKeyValuesToList()).hasSize(1);
    assertThat(
            driver.getTimestampedKeyValueStore(IngestGateApp.CACHE_STORE).approximateNumEntries())
        .isZero();
  }

  long driverNow() {
    return Instant.parse("2026-01-01T00:00:00Z").toEpochMilli();
  }

  @Test
  void withoutAnActiveEncoderOrWithTheCacheOffImagesGoStraightOn() {
    close();
    start(Map.of(StreamsSettings.CACHE_ENABLED, false));
    announce("enc", 1, ModelStatus.ACTIVE);
    byte[] img = image("png", 8, 8, 13);
    tokensIn.pipeInput("a1", tokens("a1", "enc", 1, img, (byte) 1));
    send("a2", event("a2", img, "image/png", Instant.now()));
    assertThat(images.readKeyValuesToList()).hasSize(1);
  }

  @Test
  void topologyIsTheGoldenOne() throws IOException {
    Topology t = new IngestGateApp().topology(new StreamsSettings(props(Map.of())));
    String golden;
    try (InputStream in = getClass().getResourceAsStream("ingest-topology.txt")) {
      golden = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    if (!golden.equals(t.describe().toString())) {
      // The new text, to review and copy into src/test/resources if the change is intended.
      Files.writeString(state.resolve("ingest-topology.actual.txt"), t.describe().toString());
    }
    assertThat(t.describe().toString()).isEqualTo(golden);
  }
}
