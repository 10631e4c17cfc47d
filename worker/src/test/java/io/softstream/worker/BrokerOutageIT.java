package io.softstream.worker;

import static io.softstream.worker.SystemicFailureIT.awaitTrue;
import static io.softstream.worker.SystemicFailureIT.get;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.topology.TopicLayout;
import io.softstream.worker.internals.BrokerWatch;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The broker goes away under a running worker and comes back on the same port and data: the worker
 * says so once in its log and in /health/ready (503 with the reason), then resumes by itself, and
 * every image is tokenized exactly once.
 */
class BrokerOutageIT extends WorkerIT {

  @Test
  void anUnreachableBrokerIsReportedOnceAndTheWorkerResumesByItselfWhenItReturns()
      throws Exception {
    TopicLayout t = freshTopics();
    int n = 10;
    produceImages(t.images(), images(0, n));
    Logger watchLog = (Logger) LoggerFactory.getLogger(BrokerWatch.class);
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    watchLog.addAppender(lines);
    EncodeWorker worker = new EncodeWorker(new WorkerConfig(workerProps(t, "outage-b1")));
    Thread thread = runInBackground(worker);
    try {
      assertThat(readCommitted(t.tokens(), TokenRecord.class, n, Duration.ofSeconds(60)))
          .hasSize(n);
      awaitTrue(worker::isReady, "ready before the outage");
      assertThat(get(worker.metricsPort(), "/health/ready").statusCode()).isEqualTo(200);

      platform.broker().close();
      awaitTrue(() -> worker.notReadyReason() != null, "not ready while the broker is away");
      HttpResponse<String> down = get(worker.metricsPort(), "/health/ready");
      assertThat(down.statusCode()).isEqualTo(503);
      assertThat(down.body())
          .startsWith("{\"status\":\"DOWN\",\"reason\":\"cannot reach the Kafka brokers at ")
          .contains(platform.bootstrapServers());

      platform.broker().start();
      awaitTrue(worker::isReady, "ready again once the broker is back");
      produceImages(t.images(), images(n, 2 * n));
      List<ConsumerRecord<String, TokenRecord>> tokens =
          readCommitted(t.tokens(), TokenRecord.class, 2 * n, Duration.ofSeconds(60));

      Map<String, Long> counts =
          tokens.stream()
              .collect(Collectors.groupingBy(ConsumerRecord::key, Collectors.counting()));
      assertThat(counts).hasSize(2 * n).allSatisfy((k, v) -> assertThat(v).isEqualTo(1L));
      assertThat(readCommitted(t.deadLetters(), DeadLetter.class, 0, Duration.ZERO)).isEmpty();
      assertThat(messages(lines, "cannot reach the Kafka brokers")).isEqualTo(1);
      assertThat(messages(lines, "reaches the Kafka brokers at")).isEqualTo(1);
    } finally {
      watchLog.detachAppender(lines);
      worker.close();
      thread.join(30_000);
    }
  }

  private static long messages(ListAppender<ILoggingEvent> lines, String text) {
    return lines.list.stream()
        .filter(e -> e.getFormattedMessage().contains(text))
        .filter(e -> !e.getFormattedMessage().contains("still cannot reach"))
        .count();
  }

  private static List<ImageEvent> images(int from, int to) {
    List<ImageEvent> events = new ArrayList<>();
    for (int i = from; i < to; i++) {
      events.add(image("img-" + i, TestImages.random(8, 8, "png", i), "image/png"));
    }
    return events;
  }
}
