package io.softstream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroDeserializer;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Prints the records of any topic decoded through the registry: kcat -C, Avro-aware. */
@Command(
    name = "tail",
    mixinStandardHelpOptions = true,
    description = {
      "Print the committed records of a topic, decoded through the schema registry: image events, "
          + "token shapes and model versions, dead letters with their reasons, model versions, "
          + "generation requests; images inside records (generated images, image events) are saved "
          + "as files under --out. Records that are not Avro are printed as text or as a byte count.",
      "Starts at the end and follows until Ctrl-C, unless --from-beginning, --max or --exit-at-end."
    })
public final class TailCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin KafkaOptions kafka;

  @Parameters(index = "0", paramLabel = "TOPIC", description = "Topic to read.")
  String topic;

  @Option(names = "--max", description = "Stop after this many records.")
  Integer max;

  @Option(names = "--from-beginning", description = "Start at the oldest record, not the end.")
  boolean fromBeginning;

  @Option(
      names = {"-e", "--exit-at-end"},
      description = "Stop at the end of the topic instead of waiting for more (as kcat -e).")
  boolean exitAtEnd;

  @Option(
      names = "--timeout-s",
      defaultValue = "0",
      description = "Stop after this many seconds; 0 = never (default: ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  @Option(names = "--json", description = "One JSON object per record.")
  boolean json;

  @Option(
      names = "--out",
      defaultValue = "out/tail",
      description = "Folder for images found in records (default: ${DEFAULT-VALUE}).")
  Path out;

  @Option(names = "--no-save", description = "Do not save images found in records.")
  boolean noSave;

  private static final ObjectMapper JSON = new ObjectMapper();

  @Override
  public Integer call() throws Exception {
    PrintWriter pw = spec.commandLine().getOut();
    Map<String, Object> c = new HashMap<>(kafka.clientProperties());
    ClusterCheck.require(c);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    int printed = 0;
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(c);
        AvroDeserializer<GenericRecord> avro = new AvroDeserializer<>(registry, null);
        KafkaConsumer<byte[], byte[]> consumer =
            new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      avro.configure(c, false);
      var infos = consumer.partitionsFor(topic, ClusterCheck.TIMEOUT);
      if (infos == null || infos.isEmpty()) {
        throw new IllegalArgumentException(
            "Topic " + topic + " does not exist; `./softstream topics` lists ours");
      }
      List<TopicPartition> parts = new ArrayList<>();
      infos.forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
      consumer.assign(parts);
      if (fromBeginning) {
        consumer.seekToBeginning(parts);
      } else {
        consumer.seekToEnd(parts);
      }
      Map<TopicPartition, Long> end = consumer.endOffsets(parts);
      long deadline =
          timeoutSeconds > 0 ? System.nanoTime() + timeoutSeconds * 1_000_000_000L : Long.MAX_VALUE;
      while ((max == null || printed < max) && System.nanoTime() < deadline) {
        if (exitAtEnd && atEnd(consumer, end)) {
          break;
        }
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(300))) {
          if (max != null && printed >= max) {
            break;
          }
          pw.println(format(r, avro));
          pw.flush();
          printed++;
        }
      }
      if (max != null && printed < max && !exitAtEnd) {
        spec.commandLine()
            .getErr()
            .printf("tail: %d of %d records within %d s%n", printed, max, timeoutSeconds);
        return 1;
      }
    }
    return 0;
  }

  private static boolean atEnd(KafkaConsumer<?, ?> consumer, Map<TopicPartition, Long> end) {
    return end.entrySet().stream().allMatch(e -> consumer.position(e.getKey()) >= e.getValue());
  }

  /** One line for one record: coordinates, key, schema and the decoded fields. */
  String format(ConsumerRecord<byte[], byte[]> r, AvroDeserializer<GenericRecord> avro)
      throws Exception {
    String key = r.key() == null ? null : text(r.key());
    Object value;
    String schema;
    if (r.value() == null) {
      value = null;
      schema = "tombstone";
    } else if (r.value().length > 5 && (r.value()[0] == 0 || r.value()[0] == 1)) {
      Object v;
      try {
        v = avro.deserialize(r.topic(), r.headers(), r.value());
      } catch (org.apache.kafka.common.errors.SerializationException e) {
        v = "unreadable Avro: " + e.getMessage();
      }
      if (v instanceof GenericRecord g) {
        schema = g.getSchema().getName();
        value = fields(g, r);
      } else {
        schema = "?";
        value = v;
      }
    } else {
      String t = text(r.value());
      schema = t == null ? "bytes" : "text";
      value = t == null ? r.value().length + " bytes" : t;
    }
    if (json) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("topic", r.topic());
      m.put("partition", r.partition());
      m.put("offset", r.offset());
      m.put("timestamp", r.timestamp());
      m.put("key", key);
      m.put("schema", schema);
      m.put("value", value);
      return JSON.writeValueAsString(m);
    }
    return String.format(
        "%s/%d@%d key=%s %s %s",
        r.topic(),
        r.partition(),
        r.offset(),
        key,
        schema,
        value instanceof Map<?, ?> m ? summary(schema, m) : value);
  }

  /** The fields that matter to a person, per record type; anything else as JSON. */
  private static String summary(String schema, Map<?, ?> f) throws Exception {
    return switch (schema) {
      case "TokenRecord" ->
          String.format(
              "image=%s model=%s:%s tokens=%sx%s %s (%s B) latency=%sus",
              f.get("image_id"),
              f.get("model_name"),
              f.get("model_version"),
              f.get("token_count"),
              f.get("token_dim"),
              // dense payloads as their dtype (FP16/FP32); compact ones by encoding (int8, topk:K)
              f.get("encoding") == null
                      || List.of("fp16", "fp32").contains(String.valueOf(f.get("encoding")))
                  ? f.get("dtype")
                  : f.get("encoding"),
              ((Map<?, ?>) f.get("tokens")).get("bytes"),
              f.get("encode_latency_micros"));
      case "DeadLetter" ->
          String.format(
              "%s from %s/%s@%s: %s",
              f.get("error_class"),
              f.get("original_topic"),
              f.get("original_partition"),
              f.get("original_offset"),
              f.get("reason"));
      case "ModelVersion" ->
          String.format(
              "%s %s version %s %s sha256=%s metrics=%s",
              f.get("name"),
              f.get("kind"),
              f.get("version"),
              f.get("status"),
              String.valueOf(f.get("sha256")).substring(0, 12),
              f.get("metrics"));
      case "ImageEvent" ->
          String.format(
              "id=%s %s %s %s",
              f.get("id"), f.get("content_type"), f.get("image_bytes"), f.get("attributes"));
      case "GeneratedImage" ->
          String.format(
              "request=%s #%s label=%s generator=%s decoder=%s %s",
              f.get("request_id"),
              f.get("index"),
              f.get("label"),
              f.get("generator_model"),
              f.get("decoder_model"),
              f.get("png"));
      default -> JSON.writeValueAsString(f);
    };
  }

  /** The record as plain values; byte fields become their size (and a saved file for images). */
  private Map<String, Object> fields(GenericRecord g, ConsumerRecord<?, ?> r) throws Exception {
    Map<String, Object> m = new LinkedHashMap<>();
    for (var field : g.getSchema().getFields()) {
      m.put(field.name(), plain(g.get(field.name())));
    }
    String name = g.getSchema().getName();
    Path saved = null;
    if (!noSave && name.equals("GeneratedImage")) {
      saved = save(g.get("request_id") + "-" + g.get("index"), "image/png", g.get("png"));
      m.put("png", Map.of("bytes", size(g.get("png")), "file", saved.toString()));
    } else if (!noSave && name.equals("ImageEvent")) {
      saved =
          save(
              String.valueOf(g.get("id")),
              String.valueOf(g.get("content_type")),
              g.get("image_bytes"));
      m.put("image_bytes", Map.of("bytes", size(g.get("image_bytes")), "file", saved.toString()));
    }
    if (name.equals("TokenRecord") && g.get("tokens") instanceof ByteBuffer b) {
      m.put("tokens", Map.of("bytes", b.remaining(), "first", firstTokens(g, b)));
    }
    return m;
  }

  private static List<Float> firstTokens(GenericRecord g, ByteBuffer b) {
    ByteBuffer le = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    boolean fp16 = String.valueOf(g.get("dtype")).equals("FP16");
    List<Float> v = new ArrayList<>();
    Object encoding = g.getSchema().getField("encoding") == null ? null : g.get("encoding");
    if (encoding != null && !List.of("fp16", "fp32").contains(encoding.toString())) {
      return v; // int8, topk and codes are not plain values (TokenCodec decodes them)
    }
    while (v.size() < 4 && le.remaining() >= (fp16 ? 2 : 4)) {
      v.add(
          fp16 ? io.softstream.schemas.tokens.TokenPacking.fromHalf(le.getShort()) : le.getFloat());
    }
    return v;
  }

  private Path save(String id, String contentType, Object bytes) throws Exception {
    Files.createDirectories(out);
    Path f = out.resolve(FileNames.imageFile(id, contentType));
    ByteBuffer b = ((ByteBuffer) bytes).duplicate();
    byte[] a = new byte[b.remaining()];
    b.get(a);
    Files.write(f, a);
    return f;
  }

  private static int size(Object bytes) {
    return ((ByteBuffer) bytes).remaining();
  }

  private static Object plain(Object v) {
    if (v == null || v instanceof Number || v instanceof Boolean) {
      return v;
    }
    if (v instanceof ByteBuffer b) {
      return Map.of("bytes", b.remaining());
    }
    if (v instanceof GenericRecord g) {
      Map<String, Object> m = new LinkedHashMap<>();
      g.getSchema().getFields().forEach(f -> m.put(f.name(), plain(g.get(f.name()))));
      return m;
    }
    if (v instanceof Map<?, ?> map) {
      Map<String, Object> m = new LinkedHashMap<>();
      map.forEach((k, x) -> m.put(String.valueOf(k), plain(x)));
      return m;
    }
    if (v instanceof List<?> l) {
      return l.stream().map(TailCommand::plain).toList();
    }
    return v.toString();
  }

  /** UTF-8 text without control characters, or null. */
  private static String text(byte[] b) {
    try {
      String s = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(b)).toString();
      return s.chars().anyMatch(ch -> ch < 0x20 && ch != '\n' && ch != '\t') ? null : s;
    } catch (CharacterCodingException e) {
      return null;
    }
  }
}
