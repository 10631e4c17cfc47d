package io.softstream.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;

/**
 * The layers a command's settings come from, lowest first: defaults, the {@code --config} file,
 * environment variables, flags given on the command line. Each option block contributes its own
 * layers.
 */
final class Settings {
  private Settings() {}

  /** Where environment variables are read; tests replace it. */
  static Function<String, String> environment = System::getenv;

  /** The environment variable {@code name}, or null. */
  static String env(String name) {
    return environment.apply(name);
  }

  /** Puts {@code value} unless it is null or blank (an unset flag or environment variable). */
  static void putIfSet(Map<String, Object> m, String key, Object value) {
    if (value != null && !value.toString().isBlank()) {
      m.put(key, value);
    }
  }

  /** The keys of a properties file, or nothing when {@code file} is null. */
  static Map<String, Object> file(Path file) throws IOException {
    Map<String, Object> m = new LinkedHashMap<>();
    if (file != null) {
      Properties p = new Properties();
      try (InputStream in = Files.newInputStream(file)) {
        p.load(in);
      }
      p.forEach((k, v) -> m.put(k.toString(), v));
    }
    return m;
  }
}
