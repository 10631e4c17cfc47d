package io.softstream.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.topology.TopicAdmin;
import io.softstream.topology.TopicLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaBrokerIT {
  @TempDir Path dir;

  @Test
  void transactionsTopicsAndDataSurviveARestartOnTheSameDirectory() throws Exception {
    TopicLayout layout = TopicLayout.defaults();
    String address;
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().dataDir(dir).build().start()) {
      address = broker.bootstrapServers();
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", address))) {
        TopicAdmin.Report r = TopicAdmin.ensure(admin, layout.all());
        assertThat(r.created()).hasSize(layout.all().size());
        assertThat(
                admin
                    .describeTopics(List.of(layout.images()))
                    .allTopicNames()
                    .get()
                    .get(layout.images())
                    .partitions())
            .hasSize(6);
      }
      Properties p = new Properties();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, address);
      p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "it-tx");
      try (KafkaProducer<String, String> producer =
          new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
        producer.initTransactions();
        producer.beginTransaction();
        for (int i = 0; i < 100; i++) {
          producer.send(new ProducerRecord<>(layout.images(), "k" + i, "v" + i));
        }
        producer.commitTransaction();
        producer.beginTransaction();
        producer.send(new ProducerRecord<>(layout.images(), "aborted", "never seen"));
        producer.flush();
        producer.abortTransaction();
      }
      assertThat(readCommitted(address, layout.images())).hasSize(100);
    }

    try (EmbeddedKafkaBroker again = EmbeddedKafkaBroker.builder().dataDir(dir).build().start()) {
      assertThat(again.bootstrapServers()).isEqualTo(address);
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", address))) {
        TopicAdmin.Report r = TopicAdmin.ensure(admin, layout.all());
        assertThat(r.created()).isEmpty();
        assertThat(r.existing()).hasSize(layout.all().size());
      }
      List<ConsumerRecord<String, String>> records = readCommitted(address, layout.images());
      assertThat(records).hasSize(100);
      assertThat(records)
          .extracting(ConsumerRecord::key)
          .doesNotContain("aborted")
          .contains("k0", "k99");
    }
  }

  @Test
  void aTopicWithTheWrongCleanupPolicyIsRefusedWithTheFix() throws Exception {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().dataDir(dir).build().start();
        Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
      TopicLayout layout = TopicLayout.of("bad-");
      admin
          .createTopics(
              List.of(
                  new org.apache.kafka.clients.admin.NewTopic(
                      layout.modelVersions(), 1, (short) 1)))
          .all()
          .get();
      org.assertj.core.api.Assertions.assertThatThrownBy(
              () -> TopicAdmin.ensure(admin, layout.all()))
          .isInstanceOf(TopicAdmin.TopicMismatchException.class)
          .hasMessageContaining("bad-model-versions has cleanup.policy=delete but must be compact");
    }
  }

  static List<ConsumerRecord<String, String>> readCommitted(String bootstrap, String topic) {
    Properties c = new Properties();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + System.nanoTime());
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    List<ConsumerRecord<String, String>> out = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.currentTimeMillis() + 20_000;
      int idle = 0;
      while (System.currentTimeMillis() < deadline && idle < 6) {
        var batch = consumer.poll(Duration.ofMillis(500));
        batch.forEach(out::add);
        idle = batch.isEmpty() && !out.isEmpty() ? idle + 1 : 0;
      }
    }
    return out;
  }
}
