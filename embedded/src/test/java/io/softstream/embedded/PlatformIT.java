package io.softstream.embedded;

import io.softstream.topology.TopicAdmin;
import io.softstream.topology.TopicLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/**
 * Base of integration tests: one real embedded platform (KRaft broker + registry) per test class;
 * each test takes a fresh topic prefix so tests never see each other's records.
 */
@Tag("integration")
public abstract class PlatformIT {
  protected static EmbeddedPlatform platform;
  private static Path dir;
  private static final AtomicInteger SEQ = new AtomicInteger();

  @BeforeAll
  static void startPlatform() throws Exception {
    dir = Files.createTempDirectory("softstream-it-");
    platform = EmbeddedPlatform.start(dir, 0, TopicLayout.defaults());
  }

  @AfterAll
  static void stopPlatform() throws Exception {
    if (platform != null) {
      platform.close();
    }
    io.softstream.embedded.Files2.deleteRecursively(dir);
  }

  /** A new layout with a unique prefix, its topics created. */
  protected static TopicLayout freshTopics() {
    TopicLayout layout =
        TopicLayout.of("t" + SEQ.incrementAndGet() + "-" + System.nanoTime() % 100000 + "-");
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", platform.bootstrapServers()))) {
      TopicAdmin.ensure(admin, layout.all());
    }
    return layout;
  }
}
