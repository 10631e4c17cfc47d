package io.softstream.schemas.serde;

import org.apache.kafka.common.errors.SerializationException;

/** The record names a schema id or GUID that the registry does not know. */
public class UnknownSchemaException extends SerializationException {
  private static final long serialVersionUID = 1L;

  public UnknownSchemaException(String message, Throwable cause) {
    super(message, cause);
  }
}
