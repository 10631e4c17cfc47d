package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.model.TokenizerConfig;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import io.softstream.worker.TestImages;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The encode worker as an operator runs it: its own process, health over HTTP, SIGTERM = clean exit
 * 0.
 */
@Tag("integration")
class WorkerProcessIT {
  @TempDir Path dir;

  @Test
  void sigtermFinishesTheBatchAndExitsZero() throws Exception {
    Path model = TestImages.tinyModel(dir.resolve("model"), TokenizerConfig.tiny("softvq"), "tiny");
    try (EmbeddedPlatform platform =
        EmbeddedPlatform.start(dir.resolve("kafka"), 0, TopicLayout.defaults())) {
      List<String> cmd =
          List.of(
              Path.of(System.getProperty("java.home"), "bin", "java").toString(),
              "-Dai.djl.offline=true",
              "-cp",
              launcherClasspath(),
              Softstream.class.getName(),
              "encode-worker",
              "--model",
              model.toString(),
              "--engine",
              "pytorch",
              "--worker-id",
              "proc-1",
              "--metrics-port",
              "0",
              "--bootstrap-servers",
              platform.bootstrapServers(),
              "--schema-registry-url",
              platform.schemaRegistryUrl());
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      List<String> lines = new ArrayList<>();
      BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream()));
      Thread reader =
          new Thread(
              () ->
                  r.lines()
                      .forEach(
                          l -> {
                            synchronized (lines) {
                              lines.add(l);
                            }
                          }));
      reader.start();
      int port = awaitPort(lines, p);
      HttpClient http = HttpClient.newHttpClient();
      String ready = "";
      for (int i = 0; i < 100 && !ready.contains("UP"); i++) {
        ready =
            http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready"))
                        .build(),
                    HttpResponse.BodyHandlers.ofString())
                .body();
        Thread.sleep(100);
      }
      assertThat(ready).contains("UP");

      try (SchemaRegistryClient registry =
              SchemaRegistryClients.create(platform.clientProperties());
          KafkaProducer<String, ImageEvent> producer =
              new KafkaProducer<>(
                  platform.clientProperties(),
                  new StringSerializer(),
                  new AvroSerializer<>(registry, platform.clientProperties(), false))) {
        for (int i = 0; i < 20; i++) {
          producer.send(
              new ProducerRecord<>(
                  "images",
                  "p" + i,
                  ImageEvent.newBuilder()
                      .setId("p" + i)
                      .setSource("t")
                      .setContentType("image/png")
                      .setImageBytes(ByteBuffer.wrap(SampleImages.fashionMnist(1).get(0).bytes()))
                      .setEventTime(Instant.now())
                      .build()));
        }
      }
      String metrics = "";
      for (int i = 0;
          i < 200
              && !metrics.contains(
                  "softstream_records_out_total{role=\"encode\",worker=\"proc-1\"} 20.0");
          i++) {
        Thread.sleep(100);
        metrics =
            http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                        .build(),
                    HttpResponse.BodyHandlers.ofString())
                .body();
      }
      assertThat(metrics)
          .contains("softstream_records_out_total{role=\"encode\",worker=\"proc-1\"} 20.0");

      long pid = p.pid();
      long t0 = System.nanoTime();
      // What Kubernetes sends. Not Process.destroy(): it closes our end of the pipes first, hiding
      // the output.
      new ProcessBuilder("kill", "-TERM", Long.toString(pid)).start().waitFor();
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      reader.join(5000);
      System.out.println(
          "worker pid "
              + pid
              + " exited "
              + p.exitValue()
              + " after "
              + (System.nanoTime() - t0) / 1000000
              + " ms:\n"
              + String.join("\n", lines));
      assertThat(p.exitValue()).as(String.join("\n", lines)).isZero();
      assertThat(lines).anyMatch(l -> l.contains("encode worker stopped cleanly"));

      // A downstream user turns the committed tokens back into images with `softstream decode`.
      java.io.StringWriter out = new java.io.StringWriter();
      picocli.CommandLine cl = Softstream.commandLine();
      cl.setOut(new java.io.PrintWriter(out));
      Path pngs = dir.resolve("decoded");
      int code =
          cl.execute(
              "decode",
              "--model",
              model.toString(),
              "--engine",
              "pytorch",
              "--max",
              "5",
              "--out",
              pngs.toString(),
              "--bootstrap-servers",
              platform.bootstrapServers(),
              "--schema-registry-url",
              platform.schemaRegistryUrl());
      assertThat(code).as(out.toString()).isZero();
      assertThat(out.toString()).contains("decoded 5 images of tiny:1");
      try (var files = java.nio.file.Files.list(pngs)) {
        List<Path> written = files.toList();
        assertThat(written).hasSize(5);
        assertThat(javax.imageio.ImageIO.read(written.get(0).toFile()).getWidth()).isEqualTo(8);
      }
    }
  }

  /**
   * What ./softstream runs: the module's classes plus the classpath file written at package time.
   */
  @Test
  void aCpuOnlyStartPrintsNoCudaWarnings() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeFalse(
        java.nio.file.Files.exists(Path.of("/dev/nvidia0")), "this machine has a GPU");
    Path model = TestImages.tinyModel(dir.resolve("model"), TokenizerConfig.tiny("softvq"), "tiny");
    // export loads both engines, PyTorch and ONNX Runtime: both probe for CUDA.
    Process p =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true",
                "-cp",
                launcherClasspath(),
                Softstream.class.getName(),
                "export",
                "--model",
                model.toString(),
                "--parity-images",
                "2")
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as(out).isZero();
    assertThat(out).contains("opset 17").doesNotContainIgnoringCase("cuda");
  }

  private static String launcherClasspath() throws java.io.IOException {
    return Path.of("target/classes").toAbsolutePath()
        + java.io.File.pathSeparator
        + java.nio.file.Files.readString(Path.of("target/classpath.txt")).trim();
  }

  private static int awaitPort(List<String> lines, Process p) throws InterruptedException {
    Pattern ready = Pattern.compile("encode worker ready: metrics on :(\\d+)");
    for (int i = 0; i < 600; i++) {
      synchronized (lines) {
        for (String l : lines) {
          Matcher m = ready.matcher(l);
          if (m.find()) {
            return Integer.parseInt(m.group(1));
          }
        }
      }
      if (!p.isAlive()) {
        throw new AssertionError("worker exited: " + String.join("\n", lines));
      }
      Thread.sleep(100);
    }
    throw new AssertionError("worker not ready in 60 s: " + String.join("\n", lines));
  }
}
