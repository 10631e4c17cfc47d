package io.softstream.topology.models;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * A model directory as one artifact: a zip with the files in name order and fixed timestamps, so
 * the same directory always gives the same bytes and the same SHA-256.
 */
public final class ModelArtifacts {
  private ModelArtifacts() {}

  /** Zips the regular files of {@code dir} (not sub-folders). */
  public static byte[] pack(Path dir) {
    try (Stream<Path> files = Files.list(dir)) {
      List<Path> sorted = files.filter(Files::isRegularFile).sorted().toList();
      // Sized for the stored files plus headers: growing it copied a model's bytes several times
      // over (humongous allocations, so GC pauses for every thread of the process).
      long size = 1024;
      for (Path f : sorted) {
        size += Files.size(f) + 2L * f.getFileName().toString().length() + 128;
      }
      ByteArrayOutputStream bytes =
          new ByteArrayOutputStream((int) Math.min(size, Integer.MAX_VALUE - 8));
      try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
        for (Path f : sorted) {
          byte[] data = Files.readAllBytes(f);
          ZipEntry e = new ZipEntry(f.getFileName().toString());
          e.setTime(0);
          // Stored, not deflated: weights barely compress (softvq-fmnist-32: 8% for 2 s of CPU),
          // and deflating at publish and inflating in every worker took the serving threads' CPU
          // during a hot swap.
          e.setMethod(ZipEntry.STORED);
          e.setSize(data.length);
          e.setCompressedSize(data.length);
          CRC32 crc = new CRC32();
          crc.update(data);
          e.setCrc(crc.getValue());
          zip.putNextEntry(e);
          zip.write(data);
          zip.closeEntry();
        }
      }
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException("Could not pack model directory " + dir, e);
    }
  }

  /** Unzips {@code artifact} into {@code dir} (created); refuses entries that would leave it. */
  public static void unpack(byte[] artifact, Path dir) throws IOException {
    Files.createDirectories(dir);
    try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(artifact))) {
      ZipEntry e;
      while ((e = zip.getNextEntry()) != null) {
        Path target = dir.resolve(e.getName()).normalize();
        if (!target.getParent().equals(dir.normalize()) || e.isDirectory()) {
          throw new IOException("Artifact entry '" + e.getName() + "' is not a plain file name");
        }
        Files.write(target, zip.readAllBytes());
      }
    }
  }

  /** Lower-case hex SHA-256. */
  public static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
