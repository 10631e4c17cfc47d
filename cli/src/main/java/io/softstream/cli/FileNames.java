package io.softstream.cli;

import java.util.Locale;

/** File names for images written by the CLI (decode, tail, request). */
final class FileNames {
  private FileNames() {}

  /**
   * A safe file name for image {@code id} with the extension of {@code contentType}; an id that
   * already ends in an image extension (e.g. {@code shirt.png}) keeps it instead of getting a
   * second one ({@code shirt.png.png}).
   */
  static String imageFile(String id, String contentType) {
    String ext =
        switch (contentType.toLowerCase(Locale.ROOT)) {
          case "image/jpeg" -> "jpg";
          case "image/gif" -> "gif";
          case "image/bmp" -> "bmp";
          case "image/webp" -> "webp";
          case "image/tiff" -> "tiff";
          default -> "png";
        };
    String safe = id.replaceAll("[^A-Za-z0-9._-]", "_");
    String stem = safe.replaceFirst("(?i)\\.(png|jpe?g|gif|bmp|webp|tiff?)$", "");
    return (stem.isEmpty() ? "_" : stem) + "." + ext;
  }
}
