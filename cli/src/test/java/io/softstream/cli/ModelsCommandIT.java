package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.model.TokenizerConfig;
import io.softstream.topology.TopicLayout;
import io.softstream.worker.TestImages;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** `softstream models` as an operator uses it, against a real broker. */
@Tag("integration")
class ModelsCommandIT {
  @TempDir Path dir;

  @Test
  void publishPromoteRollbackRetire() throws Exception {
    Path model = TestImages.tinyModel(dir.resolve("model"), TokenizerConfig.tiny("softvq"), "tiny");
    try (EmbeddedPlatform p =
        EmbeddedPlatform.start(dir.resolve("kafka"), 0, TopicLayout.defaults())) {
      String[] conn = {
        "--bootstrap-servers",
        p.bootstrapServers(),
        "--schema-registry-url",
        p.schemaRegistryUrl(),
        "--kind",
        "ENCODER"
      };
      assertThat(run(conn, "publish", model.toString(), "--name", "tiny"))
          .contains("published tiny ENCODER version 1 (CANDIDATE");
      assertThat(run(conn, "list")).contains("CANDIDATE").doesNotContain("<- serving");
      assertThat(run(conn, "promote", "tiny", "1"))
          .contains("tiny ENCODER version 1 is now ACTIVE");
      assertThat(run(conn, "publish", model.toString(), "--name", "tiny", "--activate"))
          .contains("published tiny ENCODER version 2 (ACTIVE");
      assertThat(run(conn, "list")).containsPattern("tiny +ENCODER +2 ACTIVE .*<- serving");
      assertThat(run(conn, "rollback", "tiny")).contains("tiny ENCODER rolled back to version 1");
      assertThat(run(conn, "list")).containsPattern("tiny +ENCODER +1 ACTIVE .*<- serving");
      assertThat(run(conn, "retire", "tiny", "2"))
          .contains("tiny ENCODER version 2 is now RETIRED");
      // The tiny model's card has no psnr: the gate keeps it a candidate and says why.
      assertThat(run(conn, "publish", model.toString(), "--name", "tiny", "--promote-if-better"))
          .contains("published tiny ENCODER version 3 (CANDIDATE")
          .contains("has no 'psnr' metric");
      assertThat(run(conn, "list")).containsPattern("tiny +ENCODER +1 ACTIVE .*<- serving");
      StringWriter err = new StringWriter();
      CommandLine cl = Softstream.commandLine();
      cl.setErr(new PrintWriter(err));
      assertThat(cl.execute(concat(conn, "promote", "tiny", "9"))).isEqualTo(2);
      assertThat(err.toString()).contains("No version 9 of tiny ENCODER");
    }
  }

  @Test
  void retrainingFineTunesAPublishedVersionAndPublishesThroughTheGate() throws Exception {
    try (EmbeddedPlatform p =
        EmbeddedPlatform.start(dir.resolve("kafka"), 0, TopicLayout.defaults())) {
      String[] kafka = {
        "--bootstrap-servers", p.bootstrapServers(), "--schema-registry-url", p.schemaRegistryUrl()
      };
      Path v1 = dir.resolve("v1");
      String[] tiny = {"steps=2", "batch_size=8", "train_limit=64", "align=false", "log_every=1"};
      assertThat(
              cli(
                  concatAll(
                      new String[] {"train"},
                      tiny,
                      new String[] {
                        "eval_images=0",
                        "model.enc_dim=16",
                        "model.enc_depth=1",
                        "model.enc_heads=2",
                        "model.dec_dim=16",
                        "model.dec_depth=1",
                        "model.dec_heads=2",
                        "model.tokens=4",
                        "model.code_dim=4",
                        "model.codebook_size=16",
                        "model.num_codebooks=1",
                        "output_dir=" + v1,
                        "name=tiny-ft"
                      })))
          .contains("\"model_dir\"");
      assertThat(
              cli(
                  concatAll(
                      new String[] {
                        "models", "publish", v1.toString(), "--name", "tiny-ft", "--activate"
                      },
                      kafka)))
          .contains("published tiny-ft ENCODER version 1 (ACTIVE")
          .contains("published tiny-ft DECODER version 1 (ACTIVE");

      // Recent images on the topic are the newer data the fine-tuning run learns from.
      try (var schemas =
              io.softstream.schemas.registry.SchemaRegistryClients.create(p.clientProperties());
          var producer =
              new org.apache.kafka.clients.producer.KafkaProducer<
                  String, io.softstream.schemas.avro.ImageEvent>(
                  p.clientProperties(),
                  new org.apache.kafka.common.serialization.StringSerializer(),
                  new io.softstream.schemas.serde.AvroSerializer<>(
                      schemas, p.clientProperties(), false))) {
        for (SampleImages.Sample s : SampleImages.fashionMnist(24)) {
          producer.send(
              new org.apache.kafka.clients.producer.ProducerRecord<>(
                  "images",
                  s.id(),
                  io.softstream.schemas.avro.ImageEvent.newBuilder()
                      .setId(s.id())
                      .setSource("t")
                      .setContentType("image/png")
                      .setImageBytes(java.nio.ByteBuffer.wrap(s.bytes()))
                      .setEventTime(java.time.Instant.now())
                      .build()));
        }
      }
      Path v2 = dir.resolve("v2");
      String out =
          cli(
              concatAll(
                  new String[] {
                    "train",
                    "--continue-from",
                    "1",
                    "--name",
                    "tiny-ft",
                    "--publish",
                    "--promote-if-better",
                    "--from-topic",
                    "images",
                    "--max-images",
                    "20"
                  },
                  tiny,
                  new String[] {
                    "eval_images=20", "probe_train_images=20", "output_dir=" + v2, "name=tiny-ft"
                  },
                  kafka));
      assertThat(out)
          .contains("continuing from tiny-ft version 1")
          .contains("\"init_from\"")
          .contains("fine-tuning on 20 recent images from topic images")
          .contains("warning: only 20 images on images (fewer than 500)")
          .contains("published tiny-ft ENCODER version 2 (CANDIDATE")
          .contains("tiny-ft ENCODER version 2: active version 1 has no 'psnr' metric");
      assertThat(cli(concatAll(new String[] {"models", "list"}, kafka)))
          .containsPattern("tiny-ft +ENCODER +2 ACTIVE .*<- serving");
    }
  }

  private static String cli(String... args) {
    StringWriter out = new StringWriter();
    CommandLine cl = Softstream.commandLine();
    cl.setOut(new PrintWriter(out));
    int code = cl.execute(args);
    assertThat(code).as(out.toString()).isZero();
    return out.toString();
  }

  private static String[] concatAll(String[]... parts) {
    return java.util.Arrays.stream(parts).flatMap(java.util.Arrays::stream).toArray(String[]::new);
  }

  private static String run(String[] conn, String... args) {
    StringWriter out = new StringWriter();
    CommandLine cl = Softstream.commandLine();
    cl.setOut(new PrintWriter(out));
    int code = cl.execute(concat(conn, args));
    assertThat(code).as(out.toString()).isZero();
    return out.toString();
  }

  private static String[] concat(String[] conn, String... args) {
    String[] all = new String[1 + args.length + conn.length];
    all[0] = "models";
    System.arraycopy(args, 0, all, 1, args.length);
    System.arraycopy(conn, 0, all, 1 + args.length, conn.length);
    return all;
  }
}
