package io.softstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.registry.SchemaRegistryServer;
import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * The schema registry goes down while images wait: the worker pauses its partitions and backs off
 * (a retriable failure, not a dead letter), keeps its group membership, and when the registry is
 * back every image is tokenized exactly once.
 */
class RegistryOutageIT extends WorkerIT {

  @Test
  void aRegistryOutageDelaysButNeverDropsOrDeadLettersRecords() throws Exception {
    TopicLayout t = freshTopics();
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    String url = "http://127.0.0.1:" + port;
    SchemaRegistryServer registry = startRegistry(t, port);
    Map<String, Object> clientProps = new HashMap<>(platform.clientProperties());
    clientProps.put("schema.registry.url", url);
    try (SchemaRegistryClient client = SchemaRegistryClients.create(clientProps);
        KafkaProducer<String, ImageEvent> p =
            new KafkaProducer<>(
                clientProps,
                new StringSerializer(),
                new AvroSerializer<>(client, clientProps, false))) {
      for (int i = 0; i < 30; i++) {
        p.send(
            new ProducerRecord<>(
                t.images(),
                "img-" + i,
                image("img-" + i, TestImages.random(8, 8, "png", i), "image/png")));
      }
      p.flush();
    }
    registry.close(); // down before the worker has resolved a single schema

    Map<String, Object> props = workerProps(t, "outage-1");
    props.put("schema.registry.url", url);
    props.put("schema.registry.retries", 0);
    props.put("schema.registry.request.timeout.ms", 1000);
    EncodeWorker worker = new EncodeWorker(new WorkerConfig(props));
    Thread thread = runInBackground(worker);
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (worker.metrics().retryCount() < 3 && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      assertThat(worker.metrics().retryCount())
          .as("retries while the registry is down")
          .isGreaterThanOrEqualTo(3);
      assertThat(worker.metrics().recordsOutCount()).isZero();
      assertThat(worker.metrics().deadLetterCount()).isZero();

      registry = startRegistry(t, port);
      List<ConsumerRecord<String, TokenRecord>> tokens =
          readCommitted(t.tokens(), TokenRecord.class, 30, Duration.ofSeconds(60), clientProps);
      Map<String, Long> counts =
          tokens.stream()
              .collect(Collectors.groupingBy(ConsumerRecord::key, Collectors.counting()));
      assertThat(counts).hasSize(30).allSatisfy((k, v) -> assertThat(v).isEqualTo(1L));
      assertThat(
              readCommitted(
                  t.deadLetters(), DeadLetter.class, 0, Duration.ofSeconds(1), clientProps))
          .isEmpty();
    } finally {
      worker.close();
      thread.join(30_000);
      registry.close();
    }
  }

  private static SchemaRegistryServer startRegistry(TopicLayout t, int port) throws Exception {
    return SchemaRegistryServer.builder()
        .setBootstrapServers(platform.bootstrapServers())
        .optTopic(t.prefix() + "_schemas-own")
        .optPort(port)
        .build()
        .start();
  }
}
