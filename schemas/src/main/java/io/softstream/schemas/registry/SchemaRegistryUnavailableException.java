package io.softstream.schemas.registry;

import org.apache.kafka.common.errors.TimeoutException;

/**
 * The registry could not be reached, timed out or kept answering 5xx after retries. Retriable: the
 * caller should back off and try again (a worker aborts its transaction and seeks back).
 */
public class SchemaRegistryUnavailableException extends TimeoutException {
  private static final long serialVersionUID = 1L;

  public SchemaRegistryUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
