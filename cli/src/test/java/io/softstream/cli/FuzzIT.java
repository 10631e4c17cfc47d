package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.streams.StreamsRunner;
import io.softstream.worker.TestImages;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 10,000 mutated payloads through the ingest gate and an encode worker process whose heap is capped
 * at 512 MB: byte flips and truncations of PNG, JPEG, GIF, BMP and WebP images and of the Avro /
 * Confluent framing, decompression bombs (huge declared sizes, and a real PNG that inflates to 200
 * MB within the pixel limit) and huge Avro length prefixes. Every record must end as exactly one
 * token record or one dead letter, and the worker must neither die nor run out of memory.
 */
@Tag("integration")
class FuzzIT {
  private static final int PAYLOADS = 10_000;
  // Modernizr's 1x1 WebP probes (lossless and lossy): the JDK writes no WebP.
  private static final byte[] WEBP_LOSSLESS =
      Base64.getDecoder().decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==");
  private static final byte[] WEBP_LOSSY =
      Base64.getDecoder().decode("UklGRiIAAABXRUJQVlA4IBYAAAAwAQCdASoBAAEADsD+JaQAA3AAAAAA");

  @TempDir Path dir;

  @Test
  void everyMutatedPayloadEndsAsOneTokenOrOneDeadLetter() throws Exception {
    long t0 = System.nanoTime();
    TopicLayout layout = TopicLayout.defaults();
    try (EmbeddedPlatform platform = EmbeddedPlatform.start(dir.resolve("kafka"), 0, layout)) {
      Map<String, Object> props = platform.clientProperties();
      WorkerProcess worker = EncodePipeline.worker("fuzz-1", platform, dir.resolve("logs"));
      worker.start().awaitReady(Duration.ofSeconds(180));
      Map<String, Integer> sentByKind = new TreeMap<>();
      try (StreamsRunner gate = EncodePipeline.startGate(platform, dir.resolve("streams"));
          SchemaRegistryClient registry = SchemaRegistryClients.create(props)) {
        List<byte[]> values = payloads(registry, props, layout, sentByKind);
        try (KafkaProducer<String, byte[]> producer =
            new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer())) {
          for (int i = 0; i < values.size(); i++) {
            producer.send(new ProducerRecord<>(layout.ingest(), "f" + i, values.get(i)));
          }
        }
        System.out.printf(
            "fuzz: %d payloads sent after %.1f s: %s%n",
            values.size(), (System.nanoTime() - t0) / 1e9, sentByKind);

        Map<String, Integer> outcomes = new ConcurrentHashMap<>();
        Map<String, Integer> deadByClass = new TreeMap<>();
        int tokens = 0;
        int dead = 0;
        long deadline = System.nanoTime() + Duration.ofSeconds(400).toNanos();
        AvroDeserializer<DeadLetter> deadLetters =
            new AvroDeserializer<>(registry, DeadLetter.class);
        try (KafkaConsumer<String, byte[]> consumer =
            EncodePipeline.reader(
                platform, new ByteArrayDeserializer(), layout.tokens(), layout.deadLetters())) {
          while (outcomes.size() < PAYLOADS && System.nanoTime() < deadline) {
            assertThat(worker.isAlive()).as("worker died:%n%s", worker.logTail()).isTrue();
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
              String key;
              if (r.topic().equals(layout.tokens())) {
                key = r.key();
                tokens++;
              } else {
                DeadLetter d = deadLetters.deserialize(r.topic(), r.value());
                key =
                    d.getOriginalKey() == null
                        ? "null"
                        : StandardCharsets.UTF_8.decode(d.getOriginalKey()).toString();
                if (deadByClass.merge(d.getErrorClass(), 1, Integer::sum) == 1) {
                  System.out.printf("fuzz: first %s: %s%n", d.getErrorClass(), d.getReason());
                }
                dead++;
              }
              outcomes.merge(key, 1, Integer::sum);
            }
          }
        }
        Set<String> expected = new HashSet<>();
        for (int i = 0; i < PAYLOADS; i++) {
          expected.add("f" + i);
        }
        EncodePipeline.Tally tally = EncodePipeline.Tally.of(expected, outcomes);
        System.out.printf(
            "fuzz: %d payloads -> %d token records + %d dead letters %s, records with an outcome %d, "
                + "with none %d, with more than one %d; worker alive: %s; %.1f s%n",
            PAYLOADS,
            tokens,
            dead,
            deadByClass,
            outcomes.size(),
            tally.lost(),
            tally.duplicated(),
            worker.isAlive(),
            (System.nanoTime() - t0) / 1e9);
        assertThat(outcomes.keySet()).isEqualTo(expected);
        assertThat(tokens + dead).isEqualTo(PAYLOADS);
        assertThat(worker.isAlive()).as(worker.logTail()).isTrue();
        assertThat(worker.logContains("OutOfMemoryError")).as(worker.logTail()).isFalse();
        assertThat(worker.stop()).as(worker.logTail()).isZero();
      }
    }
  }

  /** PAYLOADS record values, seeded: each a mutation of a valid ImageEvent or of its image. */
  private static List<byte[]> payloads(
      SchemaRegistryClient registry,
      Map<String, Object> props,
      TopicLayout layout,
      Map<String, Integer> kinds) {
    Random r = new Random(17);
    Map<String, byte[]> images = new TreeMap<>();
    images.put("png", TestImages.random(32, 32, "png", 1));
    images.put("jpeg", TestImages.random(32, 32, "jpg", 2));
    images.put("gif", TestImages.random(32, 32, "gif", 3));
    images.put("bmp", TestImages.random(32, 32, "bmp", 4));
    images.put("webp", WEBP_LOSSLESS);
    images.put("webp-lossy", WEBP_LOSSY);
    List<String> formats = new ArrayList<>(images.keySet());
    Map<String, byte[]> bombs = new TreeMap<>();
    bombs.put("png-ihdr-100000x100000", TestImages.pngHeader(100_000, 100_000));
    bombs.put("gif-65535x65535", gifHeader(65_535, 65_535));
    bombs.put("jpeg-65535x65535", jpegHeader(65_535, 65_535));
    bombs.put("png-5000x5000-rgba16-inflates-200MB", inflatingPng(5000, 5000));
    List<String> bombNames = new ArrayList<>(bombs.keySet());
    // Not closed: it would close the shared registry client.
    AvroSerializer<ImageEvent> ser = new AvroSerializer<>(registry, props, false);
    {
      List<byte[]> out = new ArrayList<>();
      for (int i = 0; i < PAYLOADS; i++) {
        String kind;
        byte[] value;
        int dice = r.nextInt(100);
        if (dice < 5) {
          String f = formats.get(r.nextInt(formats.size()));
          kind = "valid";
          value = event(ser, layout, i, images.get(f));
        } else if (dice < 40) {
          String f = formats.get(r.nextInt(formats.size()));
          kind = "flipped-image";
          value = event(ser, layout, i, flip(images.get(f), r));
        } else if (dice < 60) {
          String f = formats.get(r.nextInt(formats.size()));
          kind = "truncated-image";
          byte[] img = images.get(f);
          value = event(ser, layout, i, Arrays.copyOf(img, r.nextInt(img.length)));
        } else if (dice < 75) {
          kind = "flipped-framing";
          value =
              flip(event(ser, layout, i, images.get(formats.get(r.nextInt(formats.size())))), r);
        } else if (dice < 88) {
          kind = "truncated-framing";
          byte[] v = event(ser, layout, i, images.get(formats.get(r.nextInt(formats.size()))));
          value = Arrays.copyOf(v, r.nextInt(v.length));
        } else if (dice < 95) {
          kind = "huge-avro-length";
          value = hugeLength(ser, layout, i, r);
        } else {
          String b = bombNames.get(r.nextInt(bombNames.size()));
          kind = "bomb";
          value = event(ser, layout, i, bombs.get(b));
        }
        kinds.merge(kind, 1, Integer::sum);
        out.add(value);
      }
      return out;
    }
  }

  private static byte[] event(
      AvroSerializer<ImageEvent> ser, TopicLayout layout, int i, byte[] image) {
    return ser.serialize(
        layout.ingest(),
        ImageEvent.newBuilder()
            .setId("f" + i)
            .setSource("fuzz")
            .setContentType("image/*")
            .setImageBytes(ByteBuffer.wrap(image))
            .setEventTime(Instant.ofEpochMilli(1_700_000_000_000L))
            .build());
  }

  /** 1 to 8 random bytes set to random values. */
  private static byte[] flip(byte[] in, Random r) {
    byte[] b = in.clone();
    int n = 1 + r.nextInt(8);
    for (int k = 0; k < n; k++) {
      b[r.nextInt(b.length)] = (byte) r.nextInt(256);
    }
    return b;
  }

  /**
   * A valid event whose image_bytes length prefix (or a string's) claims up to 2^62 bytes. Layout:
   * magic 0x00, 4-byte schema id, then id, source, content_type (each a zig-zag varint length +
   * UTF-8), then image_bytes' length.
   */
  private static byte[] hugeLength(
      AvroSerializer<ImageEvent> ser, TopicLayout layout, int i, Random r) {
    byte[] v = event(ser, layout, i, new byte[] {1, 2, 3});
    String id = "f" + i;
    // Which length prefix: 0 = id, 3 = image_bytes.
    int field = r.nextBoolean() ? 0 : 3;
    int at = 5 + (field == 0 ? 0 : 3 + id.length() + "fuzz".length() + "image/*".length());
    long huge =
        switch (r.nextInt(3)) {
          case 0 -> Integer.MAX_VALUE;
          case 1 -> 1L << 40;
          default -> -5; // negative lengths are invalid too
        };
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(v, 0, at);
    long z = (huge << 1) ^ (huge >> 63);
    while ((z & ~0x7FL) != 0) {
      out.write((int) ((z & 0x7F) | 0x80));
      z >>>= 7;
    }
    out.write((int) z);
    out.write(v, at + 1, v.length - at - 1);
    return out.toByteArray();
  }

  /** A GIF89a header and image descriptor that declare {@code w x h}, then no image data. */
  private static byte[] gifHeader(int w, int h) {
    return ByteBuffer.allocate(6 + 7 + 10)
        .order(ByteOrder.LITTLE_ENDIAN)
        .put("GIF89a".getBytes(StandardCharsets.US_ASCII))
        .putShort((short) w)
        .putShort((short) h)
        .put((byte) 0)
        .put((byte) 0)
        .put((byte) 0)
        .put((byte) 0x2C)
        .putShort((short) 0)
        .putShort((short) 0)
        .putShort((short) w)
        .putShort((short) h)
        .put((byte) 0)
        .array();
  }

  /** A JPEG SOI + baseline SOF0 that declare {@code w x h} (3 components), then nothing. */
  private static byte[] jpegHeader(int w, int h) {
    return ByteBuffer.allocate(2 + 2 + 17)
        .put(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xC0})
        .putShort((short) 17)
        .put((byte) 8)
        .putShort((short) h)
        .putShort((short) w)
        .put((byte) 3)
        .put(new byte[] {1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0})
        .array();
  }

  /**
   * A complete, valid 16-bit RGBA PNG of {@code w x h} zero pixels: about a MB that decodes to
   * w*h*8 bytes (200 MB at 5000 x 5000, plus 100 MB of RGB ints), within the default 40-megapixel
   * limit.
   */
  private static byte[] inflatingPng(int w, int h) {
    Deflater d = new Deflater(Deflater.BEST_SPEED);
    byte[] row = new byte[1 + w * 8];
    ByteArrayOutputStream idat = new ByteArrayOutputStream();
    byte[] buf = new byte[64 * 1024];
    for (int y = 0; y < h; y++) {
      d.setInput(row);
      while (!d.needsInput()) {
        idat.write(buf, 0, d.deflate(buf));
      }
    }
    d.finish();
    while (!d.finished()) {
      idat.write(buf, 0, d.deflate(buf));
    }
    d.end();
    ByteArrayOutputStream png = new ByteArrayOutputStream();
    png.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
    chunk(
        png,
        "IHDR",
        ByteBuffer.allocate(13)
            .putInt(w)
            .putInt(h)
            .put((byte) 16)
            .put((byte) 6)
            .put((byte) 0)
            .put((byte) 0)
            .put((byte) 0)
            .array());
    chunk(png, "IDAT", idat.toByteArray());
    chunk(png, "IEND", new byte[0]);
    return png.toByteArray();
  }

  private static void chunk(ByteArrayOutputStream png, String type, byte[] data) {
    byte[] t = type.getBytes(StandardCharsets.US_ASCII);
    CRC32 crc = new CRC32();
    crc.update(t);
    crc.update(data);
    png.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
    png.writeBytes(t);
    png.writeBytes(data);
    png.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
  }
}
