package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.model.TokenizerConfig;
import io.softstream.worker.TestImages;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Runs the demo as a user would, on real images, a real broker and real workers, and reads what it
 * printed.
 */
@Tag("integration")
class DemoIT {
  @TempDir Path dir;

  @Test
  void demoStreamsRealImagesThroughWorkersAndReportsEveryOutcome() throws Exception {
    Path model = TestImages.tinyModel(dir.resolve("model"), TokenizerConfig.tiny("softvq"), "tiny");
    Path generator = TestImages.tinyGenerator(dir.resolve("generator"));
    // The photos' own tokenizer: tiny as well, but in colour, under its own name and with the
    // decoder convolution the shipped photo model has (its ONNX Conv runs in the decode worker).
    TokenizerConfig grey = TokenizerConfig.tiny("softvq");
    Path photoModel =
        TestImages.tinyModel(
            dir.resolve("photo-model"),
            new TokenizerConfig(
                grey.imageSize(),
                3,
                grey.patchSize(),
                grey.tokens(),
                grey.codeDim(),
                grey.codebookSize(),
                grey.numCodebooks(),
                grey.tau(),
                grey.quantizer(),
                grey.entropyWeight(),
                grey.entropyTemperature(),
                grey.commitmentWeight(),
                grey.encDim(),
                grey.encDepth(),
                grey.encHeads(),
                grey.decDim(),
                grey.decDepth(),
                grey.decHeads(),
                grey.mlpRatio(),
                3),
            "tiny-photo");
    StringWriter out = new StringWriter();
    CommandLine cl = Softstream.commandLine();
    cl.setOut(new PrintWriter(out));
    int code =
        cl.execute(
            "demo",
            "--data-dir",
            dir.resolve("data").toString(),
            "--fashion-images",
            "30",
            "--photos",
            "2",
            "--model",
            model.toString(),
            "--photo-model",
            photoModel.toString(),
            "--warm-up",
            "8",
            "--engine",
            "pytorch",
            "--generator",
            generator.toString(),
            "--generate-count",
            "3");
    String text = out.toString();
    assertThat(code).as(text).isZero();
    assertThat(text)
        .contains("32 real images (30 Fashion-MNIST PNG, 2 photo JPEG) + 3 poison pills");
    assertThat(text)
        .contains("encode worker demo-encode-1 ready")
        .contains("encode worker demo-encode-2 ready")
        .contains("decode worker demo-decode-1 ready")
        .contains(
            "encode worker demo-encode-photos ready: tiny-photo, photos.images -> photos.tokens")
        .contains(
            "decode worker demo-decode-photos ready: tiny-photo, photos.tokens -> photos.reconstructions")
        .containsPattern(
            "Photo topics \\(tiny-photo tokenizes the photos beside the ingest gate's pipeline\\): "
                + "photos.images\\(\\d+\\), photos.tokens\\(\\d+\\), photos.reconstructions\\(\\d+\\), "
                + "photos.dead-letters\\(\\d+\\)");
    // The Streams apps run; images and poison pills go in through the ingest gate, which
    // dead-letters the pills with their reasons.
    assertThat(text)
        .contains("Kafka Streams apps [ingest, generation, stats] starting")
        .contains("Streams apps {ingest=RUNNING, generation=RUNNING, stats=RUNNING}")
        .containsPattern(
            "-> warm-up: 8 Fashion-MNIST images \\(the test images after the streamed ones; not in the"
                + " figures below\\) through the gate and the encoders, one every 80 ms, 8 tokenized in")
        .contains("-> streaming 32 ImageEvents to image-ingest, the 2 photos to photos.images");
    // The photos: tokenized and reconstructed by the photo model (8x8 RGB, 4 tokens of 4).
    assertThat(text)
        .containsPattern(
            "Photos: 2 of 2 tokenized by tiny-photo:\\d+ on photos.tokens \\(4 x 4 FP16 = 32 bytes per"
                + " photo; the 256x256 JPEG crops average \\d+ bytes\\), 2 reconstructed by it on"
                + " photos.reconstructions");
    assertThat(text).contains("Dead letters (3, written by [softstream-ingest]):");
    assertThat(text)
        .containsPattern("poison-json-\\w+ +NotConfluentAvro")
        .containsPattern("poison-id-\\w+ +UnknownSchemaId")
        .containsPattern("poison-img-\\w+ +UndecodableImage");
    // 20% of the 30 images that went through the gate (6) are re-sent under new ids once tokenized
    // by the active version (fewer only if the workers swapped to it late): each is a cache hit.
    int resent = resent(text, 30);
    assertThat(resent).as(text).isBetween(1, 6);
    assertThat(text)
        .contains(
            "Summary: "
                + (35 + resent)
                + " images in ("
                + resent
                + " re-sent), "
                + (32 + resent)
                + " token records, "
                + (32 + resent)
                + " reconstructions, 3 dead letters");
    assertThat(text)
        .contains(
            "cache hits: "
                + resent
                + " ("
                + resent
                + " of the "
                + resent
                + " re-sent images answered from the token cache by the ingest gate");
    assertThat(text).contains("Tokens: 4 x 4 FP16 = 32 bytes per image");
    assertThat(text)
        .contains(
            "Registry subjects: [dead-letters-value, generated-images-value, generation-completions-value, "
                + "generation-jobs-value, generation-requests-value, image-ingest-value, model-versions-value, "
                + "photos.images-value, photos.reconstructions-value, photos.tokens-value, reconstructions-value, softstream-ingest-token-cache-changelog-value, "
                + "softstream-ingest-tokens-by-content-repartition-value, tokens-value]");
    assertThat(text)
        .contains("Published tiny as version 1 (ACTIVE)")
        .contains("halfway: published tiny version 2 (ACTIVE)")
        .contains("while the stream went on");
    // The gap is located on the swap's timeline (its length is printed, never asserted).
    assertThat(text)
        .containsPattern(
            "the gap: from a version [12] record at [\\d.]+ s to a version [12] record at [\\d.]+ s"
                + " \\(sent at -?[\\d.]+ s, written by its worker at -?[\\d.]+ s; \\d+ images sent during the gap\\);"
                + " publishing ran [\\d.]+ s-[\\d.]+ s, the encoders served version 2 from [\\d.]+ s")
        .containsPattern(
            "the same stream's largest gap before publishing started \\(no swap yet\\): \\d+ ms;"
                + " while the version was published and loaded \\(until the encoders served it\\): \\d+ ms");
    assertThat(text).contains("encode workers now serve version [2]");
    assertThat(text).contains("Workers stopped cleanly");
    assertThat(Files.size(dir.resolve("data/reconstructions.png"))).isPositive();

    // Generation: 5 good requests (2 labels, 3 prompts) x 3 images, 1 bad prompt rejected with the
    // accepted classes.
    assertThat(text)
        .contains(
            "generate worker demo-generate-1 ready: tiny-gen:1, decoder tiny:1, reading generation-jobs");
    assertThat(text)
        .containsPattern("label-0 +label 0 +-> label 0 \\(T-shirt/top\\), 3 images in \\d+ ms");
    assertThat(text).containsPattern("label-8 +label 8 +-> label 8 \\(Bag\\), 3 images in \\d+ ms");
    assertThat(text)
        .containsPattern(
            "ankle-boot +prompt \"ankle boot\" +-> label 9 \\(Ankle boot\\), 3 images in \\d+ ms");
    assertThat(text)
        .containsPattern(
            "sneakers +prompt \"a pair of sneakers\" +-> label 7 \\(Sneaker\\), 3 images in \\d+ ms");
    assertThat(text)
        .containsPattern("dress +prompt \"dress\" +-> label 3 \\(Dress\\), 3 images in \\d+ ms");
    assertThat(text.lines().filter(l -> l.contains("-> rejected (")).toList())
        .singleElement()
        .asString()
        .contains(
            "unicorn",
            "prompt \"a unicorn\"",
            "rejected (UnknownPrompt)",
            "'a unicorn' names no single known class",
            "accepted classes are 0 T-shirt/top",
            "9 Ankle boot");
    assertThat(text)
        .contains("Generation summary: 6 requests, 15 images, 1 rejected (1 dead-letter records)");
    Path generated = dir.resolve("data/generated");
    assertThat(text)
        .contains(
            "Generated images: 15 PNG files and grid.png (one row per request) in "
                + generated.toAbsolutePath());
    try (var files = Files.list(generated)) {
      List<Path> pngs =
          files.filter(f -> !f.getFileName().toString().equals("grid.png")).sorted().toList();
      assertThat(pngs).hasSize(15);
      for (String slug : List.of("label-0", "label-8", "ankle-boot", "sneakers", "dress")) {
        for (int i = 0; i < 3; i++) {
          assertThat(pngs).contains(generated.resolve(slug + "-" + i + ".png"));
        }
      }
      for (Path p : pngs) {
        BufferedImage img = ImageIO.read(p.toFile());
        assertThat(img).as(p.toString()).isNotNull();
        assertThat(img.getWidth()).isEqualTo(8);
        assertThat(img.getHeight()).isEqualTo(8);
      }
    }
    BufferedImage grid = ImageIO.read(generated.resolve("grid.png").toFile());
    assertThat(grid.getWidth()).isEqualTo(3 * (8 + 2) + 2);
    assertThat(grid.getHeight()).isEqualTo(5 * (8 + 2) + 2);

    // The generation app: one COMPLETE completion per good request with every index; none for the
    // bad one, whose job was dead-lettered.
    for (String slug : List.of("label-0", "label-8", "ankle-boot", "sneakers", "dress")) {
      assertThat(text)
          .containsPattern(
              "gen-"
                  + slug
                  + "-\\w+ +COMPLETE +images \\[0, 1, 2\\] of 3 \\(1 job\\), \\d+ ms after the request");
    }
    assertThat(text)
        .containsPattern(
            "gen-unicorn-\\w+ +none yet: its job was dead-lettered \\(UnknownPrompt\\)");
    assertThat(text.lines().filter(l -> l.contains(" COMPLETE ")).count()).isEqualTo(5);

    // The stats app's table for this run agrees with what was sent through the gate: 30 images
    // reached the encoders (the re-sent ones did not; the photos have their own topics), a token
    // record for each image and re-sent image, the cache hits, 4 dead letters (3 poison pills, 1
    // bad
    // generation request).
    assertThat(text)
        .contains("Pipeline statistics (stats app: http://127.0.0.1:")
        .contains(
            "/stats/1m?minutes=60, this run; every update also on topic pipeline-stats;"
                + " the photos' topics are not in them)")
        .contains(
            "images in 30   tokens out "
                + (30 + resent)
                + "   cache hits "
                + resent
                + "   dead letters 4")
        .contains(
            "dead letters by class: NotConfluentAvro 1, UndecodableImage 1, UnknownPrompt 1, UnknownSchemaId 1");
    List<String> rows =
        text.lines().filter(l -> l.matches(" +tiny:[12] .*")).map(String::strip).toList();
    long tokensOut = 0;
    for (String row : rows) {
      assertThat(row)
          .matches(
              "tiny:[12] +(demo-encode-[12]|- \\(token cache\\)) +\\d+ +\\d+ +\\d+ / \\d+ / \\d+");
      tokensOut +=
          Long.parseLong(
              row.replaceAll("^\\S+ +(demo-encode-\\d|- \\(token cache\\)) +(\\d+) .*$", "$2"));
    }
    assertThat(tokensOut).as(text).isEqualTo(30 + resent);
    assertThat(rows)
        .anySatisfy(
            r ->
                assertThat(r)
                    .matches("tiny:2 +- \\(token cache\\) +" + resent + " +" + resent + " +.*"));

    // Second run on the same data dir: the broker restarts on it, topics exist, earlier records are
    // ignored.
    StringWriter again = new StringWriter();
    cl.setOut(new PrintWriter(again));
    assertThat(
            cl.execute(
                "demo",
                "--data-dir",
                dir.resolve("data").toString(),
                "--fashion-images",
                "4",
                "--photos",
                "0",
                "--warm-up",
                "0",
                "--model",
                model.toString(),
                "--engine",
                "pytorch",
                "--no-generation"))
        .as(again.toString())
        .isZero();
    // The apps restart on their state (the second run's stats count only its own records); of 4
    // images at most 1 is re-sent, none if the workers swapped to version 4 after the stream.
    int resentAgain = resent(again.toString(), 4);
    assertThat(again.toString())
        .contains("Topics: 0 created, 13 already there")
        .contains("Streams apps {ingest=RUNNING, generation=RUNNING, stats=RUNNING}")
        .contains(
            "Summary: "
                + (7 + resentAgain)
                + " images in ("
                + resentAgain
                + " re-sent), "
                + (4 + resentAgain)
                + " token records")
        .contains("cache hits: " + resentAgain + " (" + resentAgain + " of the " + resentAgain)
        .contains(
            "images in 4   tokens out "
                + (4 + resentAgain)
                + "   cache hits "
                + resentAgain
                + "   dead letters 3")
        .contains("Published tiny as version 3 (ACTIVE)")
        .contains("encode workers now serve version [4]")
        .contains("Generation: skipped (--no-generation)");
  }

  /** How many of {@code images} the demo says it re-sent (0 when it re-sent none). */
  private static int resent(String text, int images) {
    var m =
        java.util.regex.Pattern.compile(
                "-> re-sending (\\d+) of the "
                    + images
                    + " images \\(20%\\) that tiny:\\d+ tokenized")
            .matcher(text);
    if (m.find()) {
      return Integer.parseInt(m.group(1));
    }
    assertThat(text).contains("-> re-sending none of the " + images + " images");
    return 0;
  }

  @Test
  void everyCommandHasHelpAndBadOptionsExitWithUsage() {
    for (String cmd :
        new String[] {
          "demo",
          "train",
          "train-generator",
          "train-judge",
          "eval",
          "encode-worker",
          "decode-worker",
          "decode",
          "export",
          "bench",
          "models",
          "generate",
          "generate-worker",
          "kafka",
          "topics",
          "send",
          "request",
          "tail",
          "dashboard",
          "topology"
        }) {
      StringWriter out = new StringWriter();
      CommandLine cl = Softstream.commandLine();
      cl.setOut(new PrintWriter(out));
      assertThat(cl.execute(cmd, "--help")).isZero();
      assertThat(out.toString()).contains("Usage: softstream " + cmd);
    }
    StringWriter err = new StringWriter();
    CommandLine cl = Softstream.commandLine();
    cl.setErr(new PrintWriter(err));
    assertThat(cl.execute("demo", "--photos", "many")).isEqualTo(2);
    assertThat(err.toString()).contains("Invalid value for option '--photos'");
    assertThat(cl.execute("demo", "--resend-share", "1.5")).isEqualTo(2);
    assertThat(err.toString()).contains("--resend-share 1.5 is outside 0..1");
  }

  @Test
  void trainWritesAModelDirectoryThatTheEnginesCanRun() throws Exception {
    Path out = dir.resolve("trained");
    StringWriter text = new StringWriter();
    CommandLine cl = Softstream.commandLine();
    cl.setOut(new PrintWriter(text));
    int code =
        cl.execute(
            "train",
            "steps=3",
            "batch_size=8",
            "train_limit=64",
            "align=false",
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
            "output_dir=" + out,
            "name=tiny-train");
    assertThat(code).as(text.toString()).isZero();
    assertThat(text.toString())
        .contains("\"loss_history\"")
        .contains("\"model_dir\" : \"" + out + "\"");
    try (var rt =
        io.softstream.model.runtime.TokenizerRuntimes.open(
            out,
            io.softstream.model.runtime.EngineKind.PYTORCH,
            io.softstream.model.runtime.TokenizerRuntimes.Part.BOTH)) {
      assertThat(rt.card().name()).isEqualTo("tiny-train");
      assertThat(rt.encode(new float[32 * 32], 1).values()).hasSize(16);
    }
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err));
    assertThat(cl.execute("train", "no-equals-sign")).isEqualTo(2);
    assertThat(err.toString()).contains("is not KEY=VALUE");
  }

  @Test
  void evalPrintsOneJsonObjectWithTheDocumentedKeys() throws Exception {
    Path model = TestImages.tinyModel(dir.resolve("model"), TokenizerConfig.tiny("softvq"), "tiny");
    Path images = Files.createDirectories(dir.resolve("images"));
    for (SampleImages.Sample s : SampleImages.fashionMnist(12)) {
      Files.write(images.resolve(s.id() + ".png"), s.bytes());
    }
    StringWriter out = new StringWriter();
    CommandLine cl = Softstream.commandLine();
    cl.setOut(new PrintWriter(out));
    int code =
        cl.execute(
            "eval",
            "--model",
            model.toString(),
            "--images",
            images.toString(),
            "--json",
            "--engine",
            "pytorch",
            "--grid",
            dir.resolve("grid.png").toString());
    assertThat(code).as(out.toString()).isZero();
    var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.toString().strip());
    assertThat(json.get("psnr").asDouble()).isBetween(1.0, 60.0);
    assertThat(json.get("ssim").asDouble()).isBetween(-1.0, 1.0);
    assertThat(json.get("token_bytes_per_image").get("fp16").asInt()).isEqualTo(4 * 4 * 2);
    assertThat(json.has("jpeg_psnr_at_equal_bytes")).isTrue();
    assertThat(json.has("bicubic_psnr_at_equal_bytes")).isTrue();
    assertThat(json.get("images").asInt()).isEqualTo(12);
    assertThat(Files.size(dir.resolve("grid.png"))).isPositive();
  }

  @Test
  void aBadWorkerSettingStopsAtStartWithTheRule() throws Exception {
    Path model = TestImages.tinyModel(dir.resolve("model"), TokenizerConfig.tiny("softvq"), "tiny");
    StringWriter err = new StringWriter();
    CommandLine cl = Softstream.commandLine();
    cl.setErr(new PrintWriter(err));
    int code =
        cl.execute(
            "encode-worker",
            "--model",
            model.toString(),
            "--batch-size",
            "0",
            "--bootstrap-servers",
            "127.0.0.1:1");
    assertThat(code).isEqualTo(2);
    assertThat(err.toString())
        .contains("Invalid value 0 for configuration batch.max.records: Value must be at least 1");
  }
}
