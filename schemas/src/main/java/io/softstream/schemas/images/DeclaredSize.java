package io.softstream.schemas.images;

import java.util.Optional;

/**
 * The width and height an {@code ImageEvent} declares, checked against the image's own (the ingest
 * gate reads them from the header, the encode worker from the decoded image). Null means "not
 * declared" and is never a mismatch; either one may be declared alone.
 */
public final class DeclaredSize {
  /** The dead-letter error class of a mismatch. */
  public static final String ERROR_CLASS = "DeclaredSizeMismatch";

  private DeclaredSize() {}

  /** Why the declared size is wrong, naming both sizes; empty when it is right or not declared. */
  public static Optional<String> mismatch(
      CharSequence id, Integer width, Integer height, int actualWidth, int actualHeight) {
    if ((width == null || width == actualWidth) && (height == null || height == actualHeight)) {
      return Optional.empty();
    }
    return Optional.of(
        "Image "
            + id
            + " declares "
            + (width == null ? "?" : width)
            + "x"
            + (height == null ? "?" : height)
            + " (width x height) but is "
            + actualWidth
            + "x"
            + actualHeight
            + ": send the image's true size, or leave width and height null.");
  }
}
