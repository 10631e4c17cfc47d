package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.topology.TopicLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every README block fenced as {@code ```bash runnable} runs as written, through the real launcher,
 * each against a fresh embedded broker whose addresses are exported as the README tells a user to.
 */
@Tag("integration")
class ReadmeIT {
  static final Path ROOT = Path.of(System.getProperty("softstream.root", "..")).toAbsolutePath();
  static final Pattern BLOCK = Pattern.compile("(?ms)^```bash runnable\\n(.*?)^```$");

  @TempDir Path dir;

  static List<String> runnableBlocks() throws Exception {
    List<String> blocks = new ArrayList<>();
    Matcher m = BLOCK.matcher(Files.readString(ROOT.resolve("README.md")));
    while (m.find()) {
      blocks.add(m.group(1));
    }
    return blocks;
  }

  @Test
  void everyRunnableBlockRunsAsWritten() throws Exception {
    List<String> blocks = runnableBlocks();
    assertThat(blocks).hasSizeGreaterThanOrEqualTo(3);
    for (int i = 0; i < blocks.size(); i++) {
      try (EmbeddedPlatform p =
          EmbeddedPlatform.start(dir.resolve("kafka-" + i), 0, TopicLayout.defaults())) {
        Path script = dir.resolve("block-" + i + ".sh");
        // Background workers a block leaves running are stopped when it ends, as a user would.
        Files.writeString(
            script,
            "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true; wait' EXIT\n"
                + blocks.get(i));
        ProcessBuilder pb =
            new ProcessBuilder("bash", script.toString())
                .directory(ROOT.toFile())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("block-" + i + ".log").toFile());
        pb.environment().put("BOOTSTRAP_SERVERS", p.bootstrapServers());
        pb.environment().put("SCHEMA_REGISTRY_URL", p.schemaRegistryUrl());
        pb.environment().put("SOFTSTREAM_NO_BUILD", "1");
        Process proc = pb.start();
        boolean done = proc.waitFor(400, TimeUnit.SECONDS);
        if (!done) {
          proc.descendants().forEach(ProcessHandle::destroy);
          proc.destroy();
        }
        String log = Files.readString(dir.resolve("block-" + i + ".log"));
        System.out.println(
            "README block " + i + ":\n" + blocks.get(i) + "\n--- output ---\n" + log);
        assertThat(done).as("block %d finished:%n%s%n%s", i, blocks.get(i), log).isTrue();
        assertThat(proc.exitValue()).as("block %d:%n%s%n%s", i, blocks.get(i), log).isZero();
      }
    }
  }
}
