package io.softstream.worker.internals;

/**
 * A record that can never be processed (corrupt image, wrong schema, oversized payload...): it goes
 * to the dead-letter topic with {@link #errorClass()} and the message as reason, and its offset is
 * committed with the batch.
 */
public class PoisonRecordException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final String errorClass;

  public PoisonRecordException(String errorClass, String reason) {
    super(reason);
    this.errorClass = errorClass;
  }

  public PoisonRecordException(String errorClass, String reason, Throwable cause) {
    super(reason, cause);
    this.errorClass = errorClass;
  }

  /** A rejected image as a poison record: same error class, same reason. */
  public static PoisonRecordException of(io.softstream.model.image.ImageRejectedException e) {
    return new PoisonRecordException(e.errorClass().name(), e.getMessage(), e);
  }

  /** Short error type, e.g. UndecodableImage, OversizedPayload, WrongSchema. */
  public String errorClass() {
    return errorClass;
  }
}
