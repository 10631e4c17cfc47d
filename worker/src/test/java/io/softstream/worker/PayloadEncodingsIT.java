package io.softstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.model.data.FashionMnist;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.topology.TopicLayout;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Encode workers publishing fp16, int8, int8u and topk:8 token records (the shipped Fashion-MNIST
 * model on real test images), decoded end to end by one decode worker: exact payload sizes, and
 * PSNR of the compact encodings close to fp16's.
 */
class PayloadEncodingsIT extends WorkerIT {
  static final Path MODEL = Path.of("../models/softvq-fmnist-32-next").toAbsolutePath().normalize();
  static final int N = 16;
  static final List<String> ENCODINGS = List.of("fp16", "int8", "int8u", "topk:8");

  @Test
  void compactEncodingsDecodeEndToEndCloseToFp16() throws Exception {
    Assumptions.assumeTrue(
        Files.isDirectory(FashionMnist.DEFAULT_DIR), "needs Debian's dataset-fashion-mnist");
    TopicLayout t = freshTopics();
    FashionMnist.Split test = FashionMnist.read(FashionMnist.DEFAULT_DIR, false, N);
    List<ImageEvent> events = new ArrayList<>();
    Map<String, int[]> originals = new HashMap<>();
    for (int i = 0; i < N; i++) {
      BufferedImage img = test.image(i);
      ByteArrayOutputStream png = new ByteArrayOutputStream();
      ImageIO.write(img, "png", png);
      events.add(image("fm-" + i, png.toByteArray(), "image/png"));
      // The encoder sees the 28x28 image centred on black at 32x32 (image.resize=fit).
      int[] padded = new int[32 * 32];
      for (int y = 0; y < 28; y++) {
        for (int x = 0; x < 28; x++) {
          padded[(y + 2) * 32 + x + 2] = img.getRaster().getSample(x, y, 0);
        }
      }
      originals.put("fm-" + i, padded);
    }
    produceImages(t.images(), events);

    List<EncodeWorker> encoders = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    DecodeWorker decoder = null;
    try {
      for (String e : ENCODINGS) {
        Map<String, Object> p = props(t, "enc-" + e.replace(':', '-'));
        p.put(WorkerConfig.TOKEN_ENCODING, e);
        EncodeWorker w = new EncodeWorker(new WorkerConfig(p));
        encoders.add(w);
        threads.add(runInBackground(w));
      }
      List<ConsumerRecord<String, TokenRecord>> tokens =
          readCommitted(t.tokens(), TokenRecord.class, 4 * N, Duration.ofSeconds(120));
      assertThat(tokens).hasSize(4 * N);
      Map<String, String> encodingAt = new HashMap<>();
      Map<String, Integer> bytes = new HashMap<>();
      for (ConsumerRecord<String, TokenRecord> r : tokens) {
        TokenRecord tr = r.value();
        encodingAt.put(r.topic() + "/" + r.partition() + "@" + r.offset(), tr.getEncoding());
        bytes.merge(tr.getEncoding(), tr.getTokens().remaining(), (a, b) -> a.equals(b) ? a : -1);
        if (!tr.getEncoding().equals("fp16")) {
          assertThat(tr.getCodeIndices()).as("compact records carry no code_indices").isNull();
        }
      }
      // 32 tokens x 16: fp16 2 bytes a value; int8 16 + a 2-byte scale per token; int8u 1 byte a
      // value (half of fp16); topk:K K (9-bit index + 8-bit weight) pairs per token (topk:2, 136
      // bytes, is in the README's sweep).
      assertThat(bytes)
          .containsExactlyInAnyOrderEntriesOf(
              Map.of("fp16", 1024, "int8", 576, "int8u", 512, "topk:8", 544));

      Map<String, Object> dp = props(t, "dec-1");
      decoder = new DecodeWorker(new WorkerConfig(dp));
      threads.add(runInBackground(decoder));
      List<ConsumerRecord<String, ImageEvent>> recon =
          readCommitted(t.reconstructions(), ImageEvent.class, 4 * N, Duration.ofSeconds(120));
      assertThat(recon).hasSize(4 * N);
      Map<String, Double> psnr = new HashMap<>();
      Map<String, Integer> count = new HashMap<>();
      for (ConsumerRecord<String, ImageEvent> r : recon) {
        String e = encodingAt.get(r.value().getAttributes().get("tokens"));
        BufferedImage img =
            ImageIO.read(new ByteArrayInputStream(r.value().getImageBytes().array()));
        int[] a = originals.get(r.key());
        double se = 0;
        for (int i = 0; i < a.length; i++) {
          int d = a[i] - img.getRaster().getSample(i % 32, i / 32, 0);
          se += d * d;
        }
        psnr.merge(e, 10 * Math.log10(255.0 * 255.0 / Math.max(se / a.length, 1e-10)), Double::sum);
        count.merge(e, 1, Integer::sum);
      }
      assertThat(count)
          .containsExactlyInAnyOrderEntriesOf(
              Map.of("fp16", N, "int8", N, "int8u", N, "topk:8", N));
      double fp16 = psnr.get("fp16") / N, int8 = psnr.get("int8") / N;
      double int8u = psnr.get("int8u") / N, top8 = psnr.get("topk:8") / N;
      System.out.printf(
          "PayloadEncodingsIT PSNR fp16 %.3f int8 %.3f int8u %.3f topk:8 %.3f dB%n",
          fp16, int8, int8u, top8);
      assertThat(fp16).as("fp16 PSNR").isGreaterThan(23);
      assertThat(int8).as("int8 PSNR").isCloseTo(fp16, org.assertj.core.data.Offset.offset(0.05));
      assertThat(int8u).as("int8u PSNR").isCloseTo(fp16, org.assertj.core.data.Offset.offset(0.05));
      assertThat(top8).as("topk:8 PSNR").isCloseTo(fp16, org.assertj.core.data.Offset.offset(0.5));
    } finally {
      for (EncodeWorker w : encoders) {
        w.close();
      }
      if (decoder != null) {
        decoder.close();
      }
      for (Thread th : threads) {
        th.join(30_000);
      }
    }
  }

  private static Map<String, Object> props(TopicLayout t, String id) {
    Map<String, Object> p = workerProps(t, id);
    p.put(WorkerConfig.GROUP_ID, t.prefix() + id); // every encoder reads every image
    p.put(WorkerConfig.MODEL_DIR, MODEL.toString());
    p.put(WorkerConfig.ENGINE, "onnxruntime");
    p.put(WorkerConfig.ENGINE_THREADS, 1);
    return p;
  }
}
