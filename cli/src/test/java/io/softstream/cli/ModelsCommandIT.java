package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.topology.TopicLayout;
import io.softstream.topology.embedded.EmbeddedPlatform;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** `softstream models` as an operator uses it, against a real broker. */
@Tag("integration")
class ModelsCommandIT {
  @TempDir Path dir;

  @Test
  void publishPromoteRollbackRetire() throws Exception {
    Path model = DemoIT.tinyModel(dir.resolve("model"));
    try (EmbeddedPlatform p = EmbeddedPlatform.start(dir.resolve("kafka"), 0, TopicLayout.defaults())) {
      String[] conn = {"--bootstrap-servers", p.bootstrapServers(), "--schema-registry-url", p.schemaRegistryUrl(),
          "--kind", "ENCODER"};
      assertThat(run(conn, "publish", model.toString(), "--name", "tiny")).contains("published tiny ENCODER version 1 (CANDIDATE");
      assertThat(run(conn, "list")).contains("CANDIDATE").doesNotContain("<- serving");
      assertThat(run(conn, "promote", "tiny", "1")).contains("tiny ENCODER version 1 is now ACTIVE");
      assertThat(run(conn, "publish", model.toString(), "--name", "tiny", "--activate"))
          .contains("published tiny ENCODER version 2 (ACTIVE");
      assertThat(run(conn, "list")).containsPattern("tiny +ENCODER +2 ACTIVE .*<- serving");
      assertThat(run(conn, "rollback", "tiny")).contains("tiny ENCODER rolled back to version 1");
      assertThat(run(conn, "list")).containsPattern("tiny +ENCODER +1 ACTIVE .*<- serving");
      assertThat(run(conn, "retire", "tiny", "2")).contains("tiny ENCODER version 2 is now RETIRED");
      // The tiny model's card has no psnr: the gate keeps it a candidate and says why.
      assertThat(run(conn, "publish", model.toString(), "--name", "tiny", "--promote-if-better"))
          .contains("published tiny ENCODER version 3 (CANDIDATE").contains("has no 'psnr' metric");
      assertThat(run(conn, "list")).containsPattern("tiny +ENCODER +1 ACTIVE .*<- serving");
      StringWriter err = new StringWriter();
      CommandLine cl = Softstream.commandLine();
      cl.setErr(new PrintWriter(err));
      assertThat(cl.execute(concat(conn, "promote", "tiny", "9"))).isEqualTo(2);
      assertThat(err.toString()).contains("No version 9 of tiny ENCODER");
    }
  }

  private static String run(String[] conn, String... args) {
    StringWriter out = new StringWriter();
    CommandLine cl = Softstream.commandLine();
    cl.setOut(new PrintWriter(out));
    int code = cl.execute(concat(conn, args));
    assertThat(code).as(out.toString()).isZero();
    return out.toString();
  }

  private static String[] concat(String[] conn, String... args) {
    String[] all = new String[1 + args.length + conn.length];
    all[0] = "models";
    System.arraycopy(args, 0, all, 1, args.length);
    System.arraycopy(conn, 0, all, 1 + args.length, conn.length);
    return all;
  }
}
