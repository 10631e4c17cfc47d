package io.softstream.model.image;

/**
 * An image the translator refuses: empty, too large, not decodable. {@link #errorClass()} names the
 * kind (the worker's dead letters carry it as their error class) and the message says what was
 * wrong and what is accepted.
 */
public class ImageRejectedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Why an image was refused; the names are the dead-letter error classes. */
  public enum ErrorClass {
    EmptyPayload,
    OversizedPayload,
    UndecodableImage,
    EmptyImage,
    OversizedImage
  }

  private final ErrorClass errorClass;

  public ImageRejectedException(ErrorClass errorClass, String reason) {
    super(reason);
    this.errorClass = errorClass;
  }

  public ImageRejectedException(ErrorClass errorClass, String reason, Throwable cause) {
    super(reason, cause);
    this.errorClass = errorClass;
  }

  public ErrorClass errorClass() {
    return errorClass;
  }
}
