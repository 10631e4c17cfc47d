package io.softstream.schemas.serde;

import org.apache.kafka.common.errors.SerializationException;

/** The serialized bytes end before the wire-format header or the Avro payload is complete. */
public class TruncatedRecordException extends SerializationException {
  private static final long serialVersionUID = 1L;

  public TruncatedRecordException(String message) {
    super(message);
  }

  public TruncatedRecordException(String message, Throwable cause) {
    super(message, cause);
  }
}
