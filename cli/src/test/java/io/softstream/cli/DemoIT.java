package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Runs the demo as a user would, on real images and a real broker, and reads what it printed. */
@Tag("integration")
class DemoIT {
  @TempDir Path dir;

  @Test
  void demoSendsRealImagesThroughKafkaAndReceivesEveryOne() {
    StringWriter out = new StringWriter();
    CommandLine cl = Softstream.commandLine();
    cl.setOut(new PrintWriter(out));
    int code = cl.execute("demo", "--data-dir", dir.toString(), "--fashion-images", "6", "--photos", "2");
    String text = out.toString();
    assertThat(code).as(text).isZero();
    assertThat(text).contains("8 real images (6 Fashion-MNIST PNG, 2 photo JPEG)");
    assertThat(text).contains("Summary: sent 8 ImageEvents");
    assertThat(text).contains("received 8, missing 0.");
    assertThat(text).contains("decoded 28x28 image/png").contains("decoded 256x256 image/jpeg");
    assertThat(text).contains("Registry subjects: [images-value]");

    // Second run on the same data dir: the broker restarts on it, topics exist, old records are skipped.
    StringWriter again = new StringWriter();
    cl.setOut(new PrintWriter(again));
    assertThat(cl.execute("demo", "--data-dir", dir.toString(), "--fashion-images", "2", "--photos", "0")).isZero();
    assertThat(again.toString()).contains("Topics: 0 created, 9 already there").contains("received 2, missing 0.");
  }

  @Test
  void everyCommandHasHelpAndBadOptionsExitWithUsage() {
    for (String cmd : new String[] {"demo", "kafka", "topics"}) {
      StringWriter out = new StringWriter();
      CommandLine cl = Softstream.commandLine();
      cl.setOut(new PrintWriter(out));
      assertThat(cl.execute(cmd, "--help")).isZero();
      assertThat(out.toString()).contains("Usage: softstream " + cmd);
    }
    StringWriter err = new StringWriter();
    CommandLine cl = Softstream.commandLine();
    cl.setErr(new PrintWriter(err));
    assertThat(cl.execute("demo", "--photos", "many")).isEqualTo(2);
    assertThat(err.toString()).contains("Invalid value for option '--photos'");
  }
}
