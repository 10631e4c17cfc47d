package io.softstream.cli;

import io.softstream.topology.TopicLayout;
import picocli.CommandLine.Option;

/** The topic-name prefix, shared by every command that names topics. */
public final class TopicOptions {
  @Option(names = "--topic-prefix", description = "Prefix of every topic name (default: none).")
  String prefix;

  /** The topic layout under this prefix. */
  TopicLayout layout() {
    return TopicLayout.of(prefix == null ? "" : prefix);
  }
}
