package io.softstream.topology.streams;

import io.softstream.topology.streams.generation.GenerationApp;
import io.softstream.topology.streams.ingest.IngestGateApp;
import io.softstream.topology.streams.similarity.SimilarityApp;
import io.softstream.topology.streams.stats.StatsApp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** Every Kafka Streams app of the system, in one list: registering an app is one line here. */
public final class StreamsApps {
  private StreamsApps() {}

  /** All apps, in start order. */
  public static List<StreamsApp> all() {
    return List.of(new IngestGateApp(), new GenerationApp(), new StatsApp());
  }

  /**
   * Every app by name: {@link #all()} plus those started only when named, such as {@code
   * similarity} (it keeps every image's tokens in its store, which the demo does not need).
   */
  public static List<StreamsApp> known() {
    return List.of(new IngestGateApp(), new GenerationApp(), new StatsApp(), new SimilarityApp());
  }

  /**
   * The apps named in {@code spec}: a comma-separated list of names, or {@code all}.
   *
   * @throws IllegalArgumentException for an unknown name, listing the known ones
   */
  public static List<StreamsApp> select(String spec) {
    if (spec == null || spec.isBlank() || spec.trim().equalsIgnoreCase("all")) {
      return all();
    }
    List<StreamsApp> out = new ArrayList<>();
    for (String given : Arrays.stream(spec.split(",")).map(String::trim).toList()) {
      // The token cache lives inside the ingest gate (see IngestGateApp): "cache" names that app.
      String name = given.equalsIgnoreCase("cache") ? "ingest" : given;
      StreamsApp app =
          known().stream()
              .filter(a -> a.name().equals(name.toLowerCase(Locale.ROOT)))
              .findFirst()
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          "Unknown app '"
                              + given
                              + "'; known: "
                              + known().stream().map(StreamsApp::name).toList()
                              + " or all (the token cache is part of the ingest app)"));
      if (out.stream().noneMatch(a -> a.name().equals(app.name()))) {
        out.add(app);
      }
    }
    return out;
  }
}
