package io.softstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.TokenDtype;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.images.ContentHash;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.streams.ingest.IngestGateApp;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * The ingest gate on a real broker under exactly_once_v2, SIGKILLed in a child JVM while images are
 * still arriving and restarted on a fresh state dir: every ingested record has exactly one output
 * (forwarded image, cache-hit token or dead letter, read with read_committed), and the token cache
 * comes back from its changelog, so bytes tokenized before the crash are still cache hits after it.
 */
class IngestGateRestartIT extends StreamsAppIT {
  static final String MODEL = "tiny-softvq";
  static final int KNOWN = 40;
  static final int ROUNDS = 25;

  @Test
  void killedMidStreamAndRestartedTheGateAnswersEachRecordOnceAndKeepsItsCache() throws Exception {
    TopicLayout t = freshTopics();
    String appId = t.prefix() + "softstream-ingest";
    List<byte[]> known = pictures(0, KNOWN);
    List<byte[]> fresh = pictures(1000, ROUNDS * 4);
    // An encode worker already tokenized the known pictures with the active encoder.
    IngestCacheIT.announce(t, MODEL, 1);
    List<TokenRecord> tokenized = new ArrayList<>();
    for (int i = 0; i < KNOWN; i++) {
      tokenized.add(workerToken("w-" + i, known.get(i), i));
    }
    produce(t.tokens(), tokenized, r -> r.getImageId().toString());

    App first = launch("ingest", t, appId);
    CompletableFuture<Void> feed;
    try {
      // The first instance has fed every known picture into its cache and committed that to the
      // cache's changelog.
      assertThat(
              readStrings(
                  appId + "-" + IngestGateApp.CACHE_STORE + "-changelog",
                  l -> l.size() >= KNOWN,
                  Duration.ofSeconds(60)))
          .hasSize(KNOWN);
      // Images keep arriving while the gate is killed: hits, new images and bad records mixed.
      produceRaw(t.ingest(), "raw-0", "not our wire format".getBytes(StandardCharsets.UTF_8));
      feed =
          CompletableFuture.runAsync(
              () -> {
                try {
                  for (int r = 0; r < ROUNDS; r++) {
                    List<ImageEvent> chunk = new ArrayList<>();
                    for (int j = 0; j < 4; j++) {
                      int i = r * 4 + j;
                      chunk.add(image("a-" + i, known.get(i % KNOWN), "image/png"));
                      chunk.add(image("b-" + i, fresh.get(i), "image/png"));
                    }
                    chunk.add(image("bad-" + r, new byte[] {1, 2, 3, 4, 5}, "image/png"));
                    produceImages(t.ingest(), chunk);
                    Thread.sleep(120);
                  }
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      // Some of them committed while the rest are in flight or not yet sent (the feed takes a few
      // seconds): kill, no chance to close.
      assertThat(readCommitted(t.images(), ImageEvent.class, 8, Duration.ofSeconds(60)))
          .hasSizeGreaterThanOrEqualTo(8);
    } finally {
      kill9(first);
    }
    feed.join();

    // Bytes tokenized before the crash, resent under new ids after it: still cache hits (a task
    // restores its stores before it processes a record).
    List<ImageEvent> again = new ArrayList<>();
    for (int i = 0; i < KNOWN; i++) {
      again.add(image("again-" + i, known.get(i), "image/png"));
    }
    produceImages(t.ingest(), again);
    // A fresh state dir: the cache can only come back from its changelog.
    App second = launch("ingest", t, appId);
    try {
      int n = ROUNDS * 4;
      List<ConsumerRecord<String, TokenRecord>> tokens =
          readCommitted(t.tokens(), TokenRecord.class, KNOWN * 2 + n, Duration.ofSeconds(90));
      List<ConsumerRecord<String, ImageEvent>> images =
          readCommitted(t.images(), ImageEvent.class, n, Duration.ofSeconds(30));
      List<ConsumerRecord<String, DeadLetter>> dead =
          readCommitted(t.deadLetters(), DeadLetter.class, ROUNDS + 1, Duration.ofSeconds(30));

      Map<String, ByteBuffer> byPicture = new HashMap<>();
      tokenized.forEach(r -> byPicture.put(r.getContentSha256(), r.getTokens()));
      List<TokenRecord> hits =
          tokens.stream().map(ConsumerRecord::value).filter(TokenRecord::getCacheHit).toList();
      for (TokenRecord h : hits) {
        assertThat(h.getTokens()).isEqualTo(byPicture.get(h.getContentSha256()));
      }
      List<String> hitIds = hits.stream().map(h -> h.getImageId().toString()).toList();
      assertThat(hitIds).hasSize(n + KNOWN);
      assertThat(withPrefix(hitIds, "a-")).containsExactlyInAnyOrderElementsOf(ids("a-", n));
      assertThat(withPrefix(hitIds, "again-"))
          .containsExactlyInAnyOrderElementsOf(ids("again-", KNOWN));
      // Forwarded: the new pictures, each once, and nothing else.
      assertThat(images.stream().map(ConsumerRecord::key).toList())
          .containsExactlyInAnyOrderElementsOf(ids("b-", n));
      assertThat(dead.stream().map(ConsumerRecord::key).toList())
          .containsExactlyInAnyOrderElementsOf(concat(ids("bad-", ROUNDS), List.of("raw-0")));
      assertThat(dead)
          .filteredOn(d -> d.key().startsWith("bad-"))
          .allSatisfy(d -> assertThat(d.value().getErrorClass()).hasToString("UndecodableImage"));
      assertThat(second.restored(IngestGateApp.CACHE_STORE)).isPositive();
    } finally {
      kill9(second);
    }
  }

  static TokenRecord workerToken(String id, byte[] picture, int i) {
    byte[] tokens = new byte[64];
    ByteBuffer.wrap(tokens).putInt(i).putInt(i * 31 + 7);
    return TokenRecord.newBuilder()
        .setImageId(id)
        .setModelName(MODEL)
        .setModelVersion(1)
        .setTokenCount(4)
        .setTokenDim(4)
        .setDtype(TokenDtype.FP32)
        .setTokens(ByteBuffer.wrap(tokens))
        .setEncodeLatencyMicros(1)
        .setSourceTopic("images")
        .setSourcePartition(0)
        .setSourceOffset(i)
        .setContentSha256(ContentHash.sha256Hex(ByteBuffer.wrap(picture)))
        .setWorkerId("earlier-worker")
        .build();
  }

  static List<byte[]> pictures(int seed, int count) {
    List<byte[]> l = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      l.add(TestImages.random(8, 8, "png", seed + i));
    }
    return l;
  }

  static List<String> ids(String prefix, int n) {
    return java.util.stream.IntStream.range(0, n).mapToObj(i -> prefix + i).toList();
  }

  static List<String> withPrefix(List<String> ids, String prefix) {
    return ids.stream().filter(i -> i.startsWith(prefix)).toList();
  }

  static List<String> concat(List<String> a, List<String> b) {
    return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
  }
}
