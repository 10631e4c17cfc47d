package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** A wrong bootstrap address fails at once, naming the address, in every command that connects. */
class ClusterCheckTest {
  @Test
  void aWrongAddressIsNamedAndExplained() {
    for (String[] cmd :
        new String[][] {
          {"topics", "--ensure"},
          {"models", "list"},
          {"encode-worker", "--model", "does-not-matter"}
        }) {
      StringWriter err = new StringWriter();
      CommandLine cl = Softstream.commandLine();
      cl.setErr(new PrintWriter(err));
      cl.setOut(new PrintWriter(new StringWriter()));
      String[] args = new String[cmd.length + 2];
      System.arraycopy(cmd, 0, args, 0, cmd.length);
      args[cmd.length] = "--bootstrap-servers";
      args[cmd.length + 1] = "127.0.0.1:1";
      assertThat(cl.execute(args)).as(String.join(" ", cmd)).isEqualTo(1);
      assertThat(err.toString())
          .as(String.join(" ", cmd))
          .contains("Cannot reach Kafka at 127.0.0.1:1 (127.0.0.1:1: connection refused)")
          .contains("--bootstrap-servers");
    }
  }

  @Test
  void kafkaFallsBackFromATakenPort() throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0)) {
      assertThat(KafkaCommand.isFree(taken.getLocalPort())).isFalse();
    }
  }

  @Test
  void imageFilesKeepOneExtension() {
    assertThat(FileNames.imageFile("shirt.png", "image/png")).isEqualTo("shirt.png");
    assertThat(FileNames.imageFile("a/b c", "image/png")).isEqualTo("a_b_c.png");
    assertThat(FileNames.imageFile("photo.JPG", "image/jpeg")).isEqualTo("photo.jpg");
  }

  @Test
  void contentTypeComesFromTheBytes() {
    assertThat(SendCommand.contentType(new byte[] {(byte) 0x89, 'P', 'N', 'G'}))
        .isEqualTo("image/png");
    assertThat(SendCommand.contentType("RIFF0000WEBPVP8 ".getBytes())).isEqualTo("image/webp");
    assertThat(SendCommand.contentType("hello".getBytes())).isNull();
  }
}
