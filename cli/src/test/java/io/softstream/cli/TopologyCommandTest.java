package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class TopologyCommandTest {
  record Result(int code, String out, String err) {}

  static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Softstream.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Result(code, out.toString(), err.toString());
  }

  @Test
  void describePrintsEveryAppsNamedTopology() {
    Result r = run("topology", "describe", "--topic-prefix", "t1-");
    assertThat(r.code()).isZero();
    assertThat(r.out())
        .contains("# app ingest (application.id t1-softstream-ingest)")
        .contains("Processor: cache-lookup (stores: [token-cache])")
        .contains("Source: ingest-source (topics: [t1-image-ingest])")
        .doesNotContain("KSTREAM-");
  }

  @Test
  void anUnknownAppIsAUsageError() {
    Result r = run("topology", "describe", "--app", "nope");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("Unknown app 'nope'").contains("ingest");
  }

  @Test
  void aBadSettingStopsWithItsRule() {
    Result r = run("topology", "describe", "--set", "num.standby.replicas=-1");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("num.standby.replicas");
  }
}
