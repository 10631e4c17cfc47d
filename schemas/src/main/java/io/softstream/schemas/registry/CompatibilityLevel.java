package io.softstream.schemas.registry;

/** Confluent compatibility levels; BACKWARD is the registry default. */
public enum CompatibilityLevel {
  NONE,
  BACKWARD,
  BACKWARD_TRANSITIVE,
  FORWARD,
  FORWARD_TRANSITIVE,
  FULL,
  FULL_TRANSITIVE;

  /** Parses a level case-insensitively; throws with the accepted values otherwise. */
  public static CompatibilityLevel parse(String s) {
    for (CompatibilityLevel l : values()) {
      if (l.name().equalsIgnoreCase(s == null ? "" : s.trim())) {
        return l;
      }
    }
    throw new IllegalArgumentException(
        "Invalid compatibility level '"
            + s
            + "'; accepted: "
            + java.util.Arrays.toString(values()));
  }
}
