package io.softstream.schemas.images;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The content key of an image: lower-case hex SHA-256 of its encoded bytes, exactly as received.
 * The encode worker writes it into {@code TokenRecord.content_sha256}; the ingest gate's token
 * cache looks it up. Both must use this one function, or the cache never hits.
 */
public final class ContentHash {
  private ContentHash() {}

  // Cloned per call: cheaper than looking the algorithm up through the providers each time.
  private static final MessageDigest SHA256;

  static {
    try {
      SHA256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  public static String sha256Hex(ByteBuffer bytes) {
    MessageDigest md;
    try {
      md = (MessageDigest) SHA256.clone();
    } catch (CloneNotSupportedException e) {
      try {
        md = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException x) {
        throw new IllegalStateException("every JVM has SHA-256", x);
      }
    }
    md.update(bytes.duplicate());
    return HexFormat.of().formatHex(md.digest());
  }
}
