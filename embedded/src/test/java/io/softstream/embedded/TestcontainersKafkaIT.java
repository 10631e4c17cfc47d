package io.softstream.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.registry.SchemaRegistryServer;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicAdmin;
import io.softstream.topology.TopicLayout;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The broker tests on Apache Kafka's own container image, where Docker is available; JUnit reports
 * it skipped ("disabled: Docker is not available") where it is not, as on our CI machines.
 */
@Tag("integration")
@Testcontainers(disabledWithoutDocker = true)
class TestcontainersKafkaIT {
  @Container static final KafkaContainer KAFKA = new KafkaContainer("apache/kafka:4.1.1");

  @Test
  void topicsRegistryAndTransactionalRoundTripOnAContainerBroker() throws Exception {
    TopicLayout layout = TopicLayout.defaults();
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", KAFKA.getBootstrapServers()))) {
      assertThat(TopicAdmin.ensure(admin, layout.all()).created()).hasSize(layout.all().size());
    }
    try (SchemaRegistryServer server =
        SchemaRegistryServer.builder()
            .setBootstrapServers(KAFKA.getBootstrapServers())
            .optTopic(layout.schemas())
            .optPort(0)
            .build()
            .start()) {
      Map<String, Object> props = new HashMap<>();
      props.put("bootstrap.servers", KAFKA.getBootstrapServers());
      props.put("schema.registry.url", server.url());
      try (SchemaRegistryClient registry = SchemaRegistryClients.create(props)) {
        Map<String, Object> p = new HashMap<>(props);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "tc-it");
        try (KafkaProducer<String, ImageEvent> producer =
            new KafkaProducer<>(
                p, new StringSerializer(), new AvroSerializer<>(registry, props, false))) {
          producer.initTransactions();
          producer.beginTransaction();
          for (int i = 0; i < 30; i++) {
            producer.send(
                new ProducerRecord<>(
                    layout.images(),
                    "img-" + i,
                    ImageEvent.newBuilder()
                        .setId("img-" + i)
                        .setSource("tc")
                        .setContentType("image/png")
                        .setImageBytes(ByteBuffer.wrap(new byte[] {(byte) i}))
                        .setEventTime(Instant.ofEpochMilli(i))
                        .build()));
          }
          producer.commitTransaction();
        }
        Map<String, Object> c = new HashMap<>(props);
        c.put(ConsumerConfig.GROUP_ID_CONFIG, "tc-reader");
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<ConsumerRecord<String, ImageEvent>> got = new ArrayList<>();
        try (KafkaConsumer<String, ImageEvent> consumer =
            new KafkaConsumer<>(
                c, new StringDeserializer(), new AvroDeserializer<>(registry, ImageEvent.class))) {
          consumer.subscribe(List.of(layout.images()));
          long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
          while (got.size() < 30 && System.nanoTime() < deadline) {
            consumer.poll(Duration.ofMillis(300)).forEach(got::add);
          }
        }
        assertThat(got).hasSize(30);
        assertThat(got).allSatisfy(r -> assertThat(r.value().getId()).isEqualTo(r.key()));
        assertThat(registry.versions(layout.images() + "-value")).containsExactly(1);
      }
    }
  }
}
