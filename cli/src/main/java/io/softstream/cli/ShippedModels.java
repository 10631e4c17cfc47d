package io.softstream.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the models committed under {@code models/} are, whatever the working directory. */
final class ShippedModels {
  private ShippedModels() {}

  /**
   * The project root: {@code -Dsoftstream.root} (set by the launcher), else the working directory.
   */
  static Path root() {
    return Path.of(System.getProperty("softstream.root", ".")).toAbsolutePath().normalize();
  }

  static Path fashionMnist() {
    return model("softvq-fmnist-32");
  }

  /** The shipped colour-photo tokenizer (64x64 RGB). */
  static Path photo() {
    return model("softvq-photo-64");
  }

  static Path model(String name) {
    Path p = root().resolve("models").resolve(name);
    if (!Files.isDirectory(p)) {
      throw new IllegalArgumentException(
          "The shipped model "
              + name
              + " is not at "
              + p
              + "; pass --model DIR, or run from the project root");
    }
    return p;
  }
}
