package io.softstream.schemas.images;

import java.util.Optional;

/**
 * The payload and pixel limits an image must meet, checked from its header alone, with the encode
 * worker's error classes and reasons (so a producer gets the same dead letter from the ingest gate
 * as from a worker). The defaults are the workers' defaults: {@code image.max.bytes} and {@code
 * image.max.pixels} refer to {@link #DEFAULT_MAX_BYTES} and {@link #DEFAULT_MAX_PIXELS}.
 *
 * <p>The one source of these reasons: the encode workers' image translator ({@code
 * io.softstream.model.image.ImageTranslator}) checks bytes with this class before decoding pixels.
 *
 * @param holder who applies the limits, for the reasons ("this worker", "the ingest gate")
 * @param namesSettings whether the reasons name the settings that raise the limits (not for tools
 *     reading local files, which have none)
 */
public record ImageLimits(int maxBytes, long maxPixels, String holder, boolean namesSettings) {
  public static final int DEFAULT_MAX_BYTES = 8 * 1024 * 1024;
  public static final long DEFAULT_MAX_PIXELS = 40_000_000L;
  public static final String MAX_BYTES_SETTING = "image.max.bytes";
  public static final String MAX_PIXELS_SETTING = "image.max.pixels";

  /** A refused image: the dead-letter error class and the reason. */
  public static final class RejectedImage extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String errorClass;

    public RejectedImage(String errorClass, String reason) {
      super(reason);
      this.errorClass = errorClass;
    }

    /** EmptyPayload, OversizedPayload, UndecodableImage, EmptyImage or OversizedImage. */
    public String errorClass() {
      return errorClass;
    }
  }

  public ImageLimits {
    if (maxBytes <= 0 || maxPixels <= 0) {
      throw new IllegalArgumentException(
          "limits must be positive, got " + maxBytes + " bytes, " + maxPixels + " pixels");
    }
  }

  /** Limits whose reasons name {@code image.max.bytes} and {@code image.max.pixels}. */
  public ImageLimits(int maxBytes, long maxPixels, String holder) {
    this(maxBytes, maxPixels, holder, true);
  }

  /** Limits without setting names, for tools reading files. */
  public static ImageLimits of(int maxBytes, long maxPixels) {
    return new ImageLimits(maxBytes, maxPixels, "this reader", false);
  }

  /** UndecodableImage: the bytes are corrupt or truncated ({@code detail} says where). */
  public static RejectedImage corrupt(int length, String contentType, String detail) {
    return new RejectedImage(
        "UndecodableImage",
        "Corrupt or truncated image (content type '"
            + contentType
            + "', "
            + length
            + " bytes): "
            + detail);
  }

  /**
   * The header of {@code bytes} if they are an accepted image within the limits.
   *
   * @throws RejectedImage with the worker's error class and reason otherwise
   */
  public ImageHeader check(byte[] bytes, String contentType) {
    if (bytes == null || bytes.length == 0) {
      throw new RejectedImage("EmptyPayload", "The image has 0 bytes.");
    }
    if (bytes.length > maxBytes) {
      throw new RejectedImage(
          "OversizedPayload",
          "The image has "
              + bytes.length
              + " bytes; "
              + holder
              + " accepts at most "
              + maxBytes
              + setting(MAX_BYTES_SETTING)
              + ".");
    }
    Optional<ImageHeader> sniffed;
    try {
      sniffed = ImageHeader.sniff(bytes);
    } catch (ImageHeader.TruncatedHeaderException e) {
      throw corrupt(bytes.length, contentType, e.getMessage());
    }
    ImageHeader h =
        sniffed.orElseThrow(
            () ->
                new RejectedImage(
                    "UndecodableImage",
                    "No image decoder recognises these "
                        + bytes.length
                        + " bytes (content type '"
                        + contentType
                        + "'); accepted: PNG, JPEG, BMP, GIF, WebP, TIFF."));
    if (h.width() <= 0 || h.height() <= 0) {
      throw new RejectedImage(
          "EmptyImage", "The " + h.format() + " image is " + h.width() + "x" + h.height() + ".");
    }
    long pixels = (long) h.width() * h.height();
    if (pixels > maxPixels) {
      throw new RejectedImage(
          "OversizedImage",
          "The "
              + h.format()
              + " image is "
              + h.width()
              + "x"
              + h.height()
              + " = "
              + pixels
              + " pixels; "
              + holder
              + " accepts at most "
              + maxPixels
              + setting(MAX_PIXELS_SETTING)
              + ".");
    }
    return h;
  }

  private String setting(String name) {
    return namesSettings ? " (" + name + ")" : "";
  }
}
