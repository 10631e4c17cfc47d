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

  /**
   * The default Fashion-MNIST tokenizer (eval, decode, workers, bench): the strongest shipped at 32
   * tokens, {@code softvq-fmnist-32-next} (24.60 dB against the first run's 19.03 dB; same
   * architecture, and its card has the same name, so records name it softvq-fmnist-32).
   */
  static Path fashionMnist() {
    return model(DEFAULT_FMNIST);
  }

  static final String DEFAULT_FMNIST = "softvq-fmnist-32-next";

  /** The first shipped run, from which the demo swaps to {@link #fashionMnist()} halfway. */
  static Path fashionMnistFirst() {
    return model("softvq-fmnist-32");
  }

  /**
   * The strongest shipped colour-photo tokenizer (64x64 RGB): softvq-photo-64 fine-tuned on more
   * packages, ahead of it on every held-out set.
   */
  static Path photo() {
    return model("softvq-photo-64-next");
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
