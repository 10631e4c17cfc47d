package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.topology.TopicLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every README block fenced as {@code ```bash runnable} ({@link ReadmeBlocks}) runs as written,
 * through the real launcher, each against a fresh embedded broker whose addresses are exported as
 * the README tells a user to (a block without a {@code ./softstream} command runs without one).
 */
@Tag("integration")
class ReadmeIT {
  static final Path ROOT = ReadmeBlocks.ROOT;

  @TempDir Path dir;

  @Test
  void everyRunnableBlockRunsAsWritten() throws Exception {
    List<ReadmeBlocks> blocks = ReadmeBlocks.all().stream().filter(ReadmeBlocks::runnable).toList();
    assertThat(blocks).hasSizeGreaterThanOrEqualTo(3);
    for (int i = 0; i < blocks.size(); i++) {
      ReadmeBlocks b = blocks.get(i);
      try (EmbeddedPlatform p =
          b.softstreamCommands().isEmpty()
              ? null
              : EmbeddedPlatform.start(dir.resolve("kafka-" + i), 0, TopicLayout.defaults())) {
        Path script = dir.resolve("block-" + i + ".sh");
        // Background workers a block leaves running are stopped when it ends, as a user would.
        Files.writeString(
            script,
            "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true; wait' EXIT\n"
                + b.body());
        ProcessBuilder pb =
            new ProcessBuilder("bash", script.toString())
                .directory(ROOT.toFile())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("block-" + i + ".log").toFile());
        if (p != null) {
          pb.environment().put("BOOTSTRAP_SERVERS", p.bootstrapServers());
          pb.environment().put("SCHEMA_REGISTRY_URL", p.schemaRegistryUrl());
        }
        pb.environment().put("SOFTSTREAM_NO_BUILD", "1");
        long start = System.nanoTime();
        Process proc = pb.start();
        boolean done = proc.waitFor(400, TimeUnit.SECONDS);
        if (!done) {
          proc.descendants().forEach(ProcessHandle::destroy);
          proc.destroy();
        }
        String log = Files.readString(dir.resolve("block-" + i + ".log"));
        System.out.printf(
            "README block %s (%d s):%n%s%n--- output ---%n%s%n",
            b.where(), (System.nanoTime() - start) / 1_000_000_000L, b.body(), log);
        assertThat(done).as("block %s finished:%n%s%n%s", b.where(), b.body(), log).isTrue();
        assertThat(proc.exitValue()).as("block %s:%n%s%n%s", b.where(), b.body(), log).isZero();
      }
    }
  }
}
