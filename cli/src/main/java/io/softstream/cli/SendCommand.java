package io.softstream.cli;

import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroSerializer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Sends image files to a topic as ImageEvents: the way in for a user's own images. */
@Command(
    name = "send",
    mixinStandardHelpOptions = true,
    description = {
      "Send image files as ImageEvents: files, folders (recursively) and globs such as 'photos/**.jpg'.",
      "The content type is sniffed from the bytes (PNG, JPEG, GIF, BMP, WebP, TIFF); the key and id are "
          + "the first 16 hex digits of the file's SHA-256 (the same file always gets the same id), the "
          + "file name goes into the attributes. Files that are not images, empty or too large for the "
          + "topic are reported with the reason and skipped."
    })
public final class SendCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin KafkaOptions kafka;

  @Parameters(arity = "1..*", paramLabel = "PATH", description = "Files, folders or globs.")
  List<String> paths;

  @Option(
      names = "--topic",
      defaultValue = "images",
      description = "Topic to send to (default: ${DEFAULT-VALUE}).")
  String topic;

  @Option(
      names = "--rate",
      defaultValue = "0",
      description =
          "Images per second at most; 0 = as fast as possible (default: ${DEFAULT-VALUE}).")
  double rate;

  @Option(
      names = "--source",
      defaultValue = "softstream-send",
      description = "The events' source field (default: ${DEFAULT-VALUE}).")
  String source;

  @Option(names = "--quiet", description = "Print only the progress and the summary.")
  boolean quiet;

  /** Client overhead on top of the image bytes: Avro fields, record and batch headers. */
  static final int RECORD_OVERHEAD = 4096;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    List<Path> files = expand(paths);
    if (files.isEmpty()) {
      throw new IllegalArgumentException("No files match " + paths);
    }
    Map<String, Object> props = new HashMap<>(kafka.clientProperties());
    ClusterCheck.require(props);
    int maxBytes = topicMaxMessageBytes(props, topic);
    // The client's own 1 MB default would refuse a 4 MB photo the topic accepts.
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, maxBytes);
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    AtomicInteger acked = new AtomicInteger();
    AtomicReference<Exception> failed = new AtomicReference<>();
    int skipped = 0;
    long bytes = 0;
    long start = System.nanoTime();
    long lastProgress = start;
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(props);
        KafkaProducer<String, ImageEvent> producer =
            new KafkaProducer<>(
                props, new StringSerializer(), new AvroSerializer<>(registry, props, false))) {
      int sent = 0;
      for (Path f : files) {
        byte[] data;
        try {
          data = Files.readAllBytes(f);
        } catch (IOException e) {
          out.printf("skipped %s: cannot read it (%s)%n", f, e.getMessage());
          skipped++;
          continue;
        }
        String type = contentType(data);
        String problem =
            data.length == 0
                ? "the file is empty"
                : type == null
                    ? "not an image (starts with "
                        + HexFormat.ofDelimiter(" ").formatHex(data, 0, Math.min(4, data.length))
                        + "); accepted: PNG, JPEG, GIF, BMP, WebP, TIFF"
                    : data.length + RECORD_OVERHEAD > maxBytes
                        ? data.length
                            + " bytes, more than topic "
                            + topic
                            + " accepts (max.message.bytes "
                            + maxBytes
                            + ")"
                        : null;
        if (problem != null) {
          out.printf("skipped %s: %s%n", f, problem);
          skipped++;
          continue;
        }
        String id = id(data);
        ImageEvent e =
            ImageEvent.newBuilder()
                .setId(id)
                .setSource(source)
                .setContentType(type)
                .setImageBytes(ByteBuffer.wrap(data))
                .setEventTime(Instant.now())
                .setAttributes(Map.of("file", f.getFileName().toString()))
                .build();
        producer.send(
            new ProducerRecord<>(topic, id, e),
            (md, ex) -> {
              if (ex != null) {
                failed.compareAndSet(null, ex);
              } else {
                acked.incrementAndGet();
              }
            });
        sent++;
        bytes += data.length;
        if (!quiet) {
          out.printf("%s  %-10s %9d B  %s%n", id, type, data.length, f);
        }
        if (rate > 0) {
          long due = start + (long) (sent / rate * 1e9);
          long wait = due - System.nanoTime();
          if (wait > 0) {
            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
          }
        }
        long now = System.nanoTime();
        if (now - lastProgress > 1_000_000_000L) {
          lastProgress = now;
          out.printf(
              "progress: %d/%d files, %.1f images/s%n",
              sent + skipped, files.size(), sent / ((now - start) / 1e9));
          out.flush();
        }
      }
      producer.flush();
    }
    double seconds = Math.max(1e-9, (System.nanoTime() - start) / 1e9);
    out.printf(
        "sent %d images (%.1f MB) to %s in %.1f s, %.1f images/s; skipped %d%n",
        acked.get(), bytes / 1e6, topic, seconds, acked.get() / seconds, skipped);
    if (failed.get() != null) {
      out.printf("send failed: %s%n", failed.get().getMessage());
      return 1;
    }
    // Skipped files were reported above; the run fails only if nothing at all was sent.
    return acked.get() > 0 ? 0 : 1;
  }

  /** Files named, files under folders (recursively), and files matching globs; sorted, distinct. */
  static List<Path> expand(List<String> args) throws IOException {
    List<Path> files = new ArrayList<>();
    for (String a : args) {
      int glob = firstGlobChar(a);
      if (glob < 0) {
        Path p = Path.of(a);
        if (Files.isDirectory(p)) {
          try (Stream<Path> s = Files.walk(p)) {
            s.filter(Files::isRegularFile).sorted().forEach(files::add);
          }
        } else if (Files.exists(p)) {
          files.add(p);
        } else {
          throw new IllegalArgumentException("No such file or folder: " + a);
        }
        continue;
      }
      // Walk from the folder before the first wildcard and match the whole path against the glob.
      int slash = a.lastIndexOf('/', glob);
      Path base = slash < 0 ? Path.of(".") : Path.of(a.substring(0, Math.max(1, slash)));
      PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + a);
      if (Files.isDirectory(base)) {
        try (Stream<Path> s = Files.walk(base)) {
          s.filter(Files::isRegularFile)
              .filter(p -> m.matches(slash < 0 ? base.relativize(p) : p))
              .sorted()
              .forEach(files::add);
        }
      }
    }
    return files.stream().distinct().toList();
  }

  private static int firstGlobChar(String s) {
    for (int i = 0; i < s.length(); i++) {
      if ("*?[{".indexOf(s.charAt(i)) >= 0) {
        return i;
      }
    }
    return -1;
  }

  /** The image format from its first bytes, or null. */
  static String contentType(byte[] b) {
    if (startsWith(b, 0, 0x89, 'P', 'N', 'G')) {
      return "image/png";
    }
    if (startsWith(b, 0, 0xFF, 0xD8, 0xFF)) {
      return "image/jpeg";
    }
    if (startsWith(b, 0, 'G', 'I', 'F', '8')) {
      return "image/gif";
    }
    if (startsWith(b, 0, 'B', 'M') && b.length > 14) {
      return "image/bmp";
    }
    if (startsWith(b, 0, 'R', 'I', 'F', 'F') && startsWith(b, 8, 'W', 'E', 'B', 'P')) {
      return "image/webp";
    }
    if (startsWith(b, 0, 'I', 'I', 42, 0) || startsWith(b, 0, 'M', 'M', 0, 42)) {
      return "image/tiff";
    }
    return null;
  }

  private static boolean startsWith(byte[] b, int at, int... magic) {
    if (b.length < at + magic.length) {
      return false;
    }
    for (int i = 0; i < magic.length; i++) {
      if ((b[at + i] & 0xFF) != magic[i]) {
        return false;
      }
    }
    return true;
  }

  /** Content-addressed: the same file sent twice has the same id and key (and partition). */
  static String id(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data), 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The topic's max.message.bytes (what the broker accepts per record batch). */
  static int topicMaxMessageBytes(Map<String, Object> props, String topic) throws Exception {
    try (Admin admin = Admin.create(props)) {
      ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      Config c;
      try {
        c = admin.describeConfigs(List.of(r)).all().get().get(r);
      } catch (java.util.concurrent.ExecutionException e) {
        throw new IllegalArgumentException(
            "Topic "
                + topic
                + " cannot be described ("
                + e.getCause().getMessage()
                + "); create it with `./softstream topics --ensure` or pass --topic",
            e);
      }
      ConfigEntry e = c.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
      return Integer.parseInt(e.value());
    }
  }
}
