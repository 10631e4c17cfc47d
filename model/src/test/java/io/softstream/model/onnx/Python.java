package io.softstream.model.onnx;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs Debian's /usr/bin/python3 (not a pyenv shim, which would not see Debian's torch and onnx).
 */
final class Python {
  static final Path PYTHON = Path.of("/usr/bin/python3");

  private Python() {}

  /** Skips the calling test unless /usr/bin/python3 can import every module in {@code modules}. */
  static void assumeModules(String... modules) throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(PYTHON), "needs " + PYTHON);
    Result r = run(List.of("-c", "import " + String.join(", ", modules)));
    Assumptions.assumeTrue(
        r.exitCode() == 0, "needs Debian python3 modules " + List.of(modules) + ": " + r.output());
  }

  record Result(int exitCode, String output) {}

  static Result run(List<String> args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(PYTHON.toString());
    cmd.addAll(args);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("timed out: " + cmd);
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  /** The repository's reference/ folder (tests run in model/). */
  static Path referenceDir() {
    Path here = Path.of("").toAbsolutePath();
    for (Path p = here; p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("reference/softvq_reference.py"))) {
        return p.resolve("reference");
      }
    }
    throw new IllegalStateException("reference/softvq_reference.py not found above " + here);
  }
}
