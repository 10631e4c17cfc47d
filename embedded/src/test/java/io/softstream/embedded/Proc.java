package io.softstream.embedded;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs an external peer program and returns its standard output; fails with its stderr. */
final class Proc {
  private Proc() {}

  static String run(List<String> cmd, int timeoutSeconds) throws IOException, InterruptedException {
    Path err = Files.createTempFile("proc", ".err");
    Path out = Files.createTempFile("proc", ".out");
    try {
      Process p =
          new ProcessBuilder(cmd).redirectError(err.toFile()).redirectOutput(out.toFile()).start();
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError(
            cmd + " did not finish in " + timeoutSeconds + " s; stderr:\n" + Files.readString(err));
      }
      if (p.exitValue() != 0) {
        throw new AssertionError(
            cmd + " exited " + p.exitValue() + "; stderr:\n" + Files.readString(err));
      }
      return Files.readString(out, StandardCharsets.UTF_8);
    } finally {
      Files.deleteIfExists(err);
      Files.deleteIfExists(out);
    }
  }
}
