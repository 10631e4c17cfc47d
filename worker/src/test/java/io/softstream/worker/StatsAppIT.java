package io.softstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.schemas.avro.TokenDtype;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.streams.stats.StatsApp;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** The stats app on a real broker under exactly_once_v2, killed mid-stream and restarted. */
class StatsAppIT extends StreamsAppIT {
  static final Pattern COUNT = Pattern.compile("\"count\":(\\d+)");

  static TokenRecord token(int i, Instant written) {
    return TokenRecord.newBuilder()
        .setImageId("img-" + i)
        .setModelName("softvq")
        .setModelVersion(3)
        .setTokenCount(1)
        .setTokenDim(1)
        .setDtype(TokenDtype.FP32)
        .setTokens(ByteBuffer.wrap(new byte[4]))
        .setEncodeLatencyMicros(10)
        .setSourceTopic("images")
        .setSourcePartition(0)
        .setSourceOffset(i)
        .setEventTime(written.minusMillis(i % 100 + 1))
        .build();
  }

  /** The counts written for one window and key, in the order the topic holds them. */
  static List<Long> counts(List<ConsumerRecord<String, String>> out, String key) {
    return out.stream()
        .filter(r -> r.key().equals(key))
        .map(
            r -> {
              Matcher m = COUNT.matcher(r.value());
              assertThat(m.find()).as(r.value()).isTrue();
              return Long.parseLong(m.group(1));
            })
        .toList();
  }

  static long last(List<Long> counts) {
    return counts.isEmpty() ? 0 : counts.get(counts.size() - 1);
  }

  @Test
  void killedMidStreamAndRestartedTheCountsNeitherRestartNorDoubleCount() throws Exception {
    TopicLayout t = freshTopics();
    String appId = t.prefix() + "softstream-stats";
    // Every record in one 1-minute window, so one key's count tells how many were counted.
    Instant base = Instant.now().truncatedTo(ChronoUnit.MINUTES).minus(Duration.ofMinutes(10));
    String key = "1m|" + base + "|tokens_out|softvq:3|-|-";
    List<TokenRecord> firstHalf =
        IntStream.range(0, 200).mapToObj(i -> token(i, base.plusMillis(i))).toList();
    List<TokenRecord> secondHalf =
        IntStream.range(200, 400).mapToObj(i -> token(i, base.plusMillis(i))).toList();

    App first = launch("stats", t, appId);
    try {
      produce(
          t.tokens(),
          firstHalf,
          r -> r.getImageId().toString(),
          r -> base.toEpochMilli() + r.getSourceOffset());
      assertThat(
              last(
                  counts(
                      readStrings(
                          t.stats(), o -> last(counts(o, key)) >= 50, Duration.ofSeconds(60)),
                      key)))
          .isGreaterThanOrEqualTo(50);
    } finally {
      kill9(first);
    }
    produce(
        t.tokens(),
        secondHalf,
        r -> r.getImageId().toString(),
        r -> base.toEpochMilli() + r.getSourceOffset());
    // A fresh state dir: the counts so far must come back from the changelog.
    App second = launch("stats", t, appId);
    try {
      List<Long> counts =
          counts(
              readStrings(t.stats(), o -> last(counts(o, key)) >= 400, Duration.ofSeconds(90)),
              key);
      assertThat(last(counts)).isEqualTo(400);
      // Committed updates only grow: a count restarted from zero or a record counted twice would
      // break this or the total.
      for (int i = 1; i < counts.size(); i++) {
        assertThat(counts.get(i)).isGreaterThan(counts.get(i - 1));
      }
      assertThat(second.restored(StatsApp.STORE_1M)).isPositive();
    } finally {
      kill9(second);
    }
  }
}
