package io.softstream.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.topology.TopicAdmin;
import io.softstream.topology.TopicLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

@EnabledIfSystemProperty(
    named = "softstream.soak",
    matches = "true",
    disabledReason =
        "CI covers broker SIGKILLs and restarts on the three-broker cluster in ChaosIT; -Psoak runs this")
class EmbeddedKafkaClusterIT {
  @TempDir Path dir;

  @Test
  void aSigkilledBrokerLosesNoCommittedWriteAndComesBackOnItsPortAndData() throws Exception {
    TopicLayout layout = TopicLayout.defaults().withReplication(3);
    try (EmbeddedKafkaCluster cluster =
        EmbeddedKafkaCluster.builder().dataDir(dir).build().start()) {
      String bootstrap = cluster.bootstrapServers();
      assertThat(bootstrap.split(",")).hasSize(3);
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
        TopicAdmin.ensure(admin, layout.all());
        TopicDescription images =
            admin
                .describeTopics(List.of(layout.images()))
                .allTopicNames()
                .get()
                .get(layout.images());
        assertThat(images.partitions()).allMatch(p -> p.replicas().size() == 3);
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, layout.images());
        assertThat(
                admin
                    .describeConfigs(List.of(res))
                    .all()
                    .get()
                    .get(res)
                    .get("min.insync.replicas")
                    .value())
            .isEqualTo("2");
      }
      long pid = cluster.pid(2);
      send(bootstrap, layout.images(), 0, 500);
      cluster.kill(2);
      assertThat(cluster.isRunning(2)).isFalse();
      // Two of three replicas are in sync: transactional acks=all writes still succeed.
      send(bootstrap, layout.images(), 500, 1000);
      cluster.restart(2);
      assertThat(cluster.isRunning(2)).isTrue();
      assertThat(cluster.pid(2)).isNotEqualTo(pid);
      assertThat(cluster.bootstrapServers()).isEqualTo(bootstrap);
      // Another node dies: the other two still serve every committed record, none lost.
      cluster.kill(1);
      assertThat(readCommitted(bootstrap, layout.images())).isEqualTo(1000);
      cluster.restart(1);
    }
  }

  private static void send(String bootstrap, String topic, int from, int to) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "cluster-it");
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
      producer.initTransactions();
      producer.beginTransaction();
      for (int i = from; i < to; i++) {
        producer.send(new ProducerRecord<>(topic, "k" + i, "v" + i));
      }
      producer.commitTransaction();
    }
  }

  private static int readCommitted(String bootstrap, String topic) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("group.id", "cluster-it");
    p.put("auto.offset.reset", "earliest");
    p.put("isolation.level", "read_committed");
    int n = 0;
    try (KafkaConsumer<String, String> c =
        new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
      c.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (n < 1000 && System.nanoTime() < deadline) {
        n += c.poll(Duration.ofMillis(500)).count();
      }
    }
    return n;
  }
}
