package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.model.TokenizerConfig;
import io.softstream.topology.TopicLayout;
import io.softstream.worker.AbstractWorker;
import io.softstream.worker.EncodeWorker;
import io.softstream.worker.GenerateWorker;
import io.softstream.worker.TestImages;
import io.softstream.worker.WorkerConfig;
import io.softstream.worker.generation.GenerationSettings;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** A user's own images in, records watched, generation requested: send, tail, request. */
@Tag("integration")
class UserPathIT {
  @TempDir static Path dir;
  static EmbeddedPlatform platform;
  static Path model;

  @BeforeAll
  static void start() throws Exception {
    platform = EmbeddedPlatform.start(dir.resolve("kafka"), 0, TopicLayout.defaults());
    model = TestImages.tinyModel(dir.resolve("model"), TokenizerConfig.tiny("softvq"), "tiny");
  }

  @AfterAll
  static void stop() {
    platform.close();
  }

  @Test
  void sendTheUsersImagesThenTailTokensAndDeadLetters() throws Exception {
    Path images = Files.createDirectories(dir.resolve("mine/sub"));
    Files.write(dir.resolve("mine/a.png"), TestImages.random(16, 16, "png", 1));
    Files.write(dir.resolve("mine/b.jpg"), TestImages.random(16, 16, "jpg", 2));
    Files.write(images.resolve("c.gif"), TestImages.random(16, 16, "gif", 3));
    // Noise does not compress: a ~4 MB image, over the producer's 1 MB default request size.
    byte[] big = TestImages.random(1200, 1200, "png", 4);
    assertThat(big.length).isGreaterThan(3_000_000);
    Files.write(dir.resolve("mine/big.png"), big);
    Files.write(
        dir.resolve("mine/truncated.png"), Arrays.copyOf(TestImages.random(16, 16, "png", 5), 60));
    Files.writeString(dir.resolve("mine/notes.txt"), "not an image");
    Files.write(dir.resolve("mine/empty.png"), new byte[0]);

    String sent = ok("send", dir.resolve("mine").toString(), dir + "/mine/*.png");
    assertThat(sent)
        .contains("skipped " + dir.resolve("mine/notes.txt") + ": not an image")
        .contains("skipped " + dir.resolve("mine/empty.png") + ": the file is empty")
        .contains("image/gif", "image/jpeg", "image/png")
        .contains(SendCommand.id(big))
        .containsPattern("sent 5 images \\(.* MB\\) to images in .* s, .* images/s; skipped 2");

    String events =
        ok(
            "tail",
            "images",
            "--from-beginning",
            "--max",
            "5",
            "--json",
            "--out",
            dir.resolve("tail").toString());
    assertThat(events.lines()).hasSize(5).allMatch(l -> l.contains("\"schema\":\"ImageEvent\""));
    assertThat(dir.resolve("tail").resolve(SendCommand.id(big) + ".png")).hasBinaryContent(big);

    Map<String, Object> c = workerProps("enc-user");
    EncodeWorker worker = new EncodeWorker(new WorkerConfig(c));
    Thread t = worker.startInBackground("enc-user");
    try {
      assertThat(ok("tail", "tokens", "--from-beginning", "--max", "4", "--timeout-s", "60"))
          .containsPattern(
              "tokens/\\d@\\d+ key=\\w+ TokenRecord image=\\w+ model=tiny:1 tokens=4x4 FP16")
          .contains(SendCommand.id(big));
      assertThat(ok("tail", "dead-letters", "--from-beginning", "--max", "1", "--timeout-s", "60"))
          .contains("DeadLetter UndecodableImage from images/");
    } finally {
      stopWorker(worker, t);
    }
  }

  @Test
  void requestWaitsForTheImagesOrTheDeadLetter() throws Exception {
    Map<String, Object> c = workerProps("gen-user");
    c.put(
        GenerationSettings.GENERATOR_DIR, TestImages.tinyGenerator(dir.resolve("gen")).toString());
    GenerateWorker worker = new GenerateWorker(new WorkerConfig(c));
    Thread t = worker.startInBackground("gen-user");
    try {
      Path out = dir.resolve("generated");
      String good =
          ok("request", "--label", "7", "--count", "2", "--steps", "4", "--out", out.toString());
      assertThat(good).contains("label 7, count 2").contains("2 images in");
      try (Stream<Path> files = Files.list(out)) {
        assertThat(files.filter(f -> f.toString().endsWith("-1.png"))).hasSize(1);
      }
      StringWriter sw = new StringWriter();
      CommandLine cl = Softstream.commandLine();
      cl.setOut(new PrintWriter(sw));
      assertThat(cl.execute(concat("request", "--prompt", "a unicorn", "--steps", "4")))
          .isEqualTo(1);
      assertThat(sw.toString()).contains("rejected: UnknownPrompt", "unicorn");
    } finally {
      stopWorker(worker, t);
    }
  }

  private static Map<String, Object> workerProps(String id) {
    Map<String, Object> c = new HashMap<>(platform.clientProperties());
    c.put(WorkerConfig.WORKER_ID, id);
    c.put(WorkerConfig.MODEL_DIR, model.toString());
    c.put(WorkerConfig.ENGINE, "pytorch");
    c.put(WorkerConfig.METRICS_PORT, -1);
    return c;
  }

  private static void stopWorker(AbstractWorker w, Thread t) throws InterruptedException {
    w.close();
    t.join(30_000);
  }

  private static String[] concat(String... args) {
    String[] conn = {
      "--bootstrap-servers", platform.bootstrapServers(),
      "--schema-registry-url", platform.schemaRegistryUrl()
    };
    return Stream.concat(Arrays.stream(args), Arrays.stream(conn)).toArray(String[]::new);
  }

  private static String ok(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Softstream.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(concat(args));
    assertThat(code).as(out + "\n" + err).isZero();
    return out.toString();
  }
}
