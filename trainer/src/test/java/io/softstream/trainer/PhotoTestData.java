package io.softstream.trainer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * A few small real wallpapers from {@code mate-backgrounds}, copied with their relative paths so
 * that the split rule gives the same answer as on the full folder: three training pictures
 * (FreshFlower, GreenMeadow, Aqua) and two held-out ones (YellowFlower, Silk). Decoding them takes
 * about a second, where the full folders take a minute.
 */
final class PhotoTestData {
  static final Path MATE = Path.of("/usr/share/backgrounds/mate");
  static final List<String> TRAIN =
      List.of("nature/FreshFlower.jpg", "nature/GreenMeadow.jpg", "nature/Aqua.jpg");
  static final List<String> HELD_OUT = List.of("nature/YellowFlower.jpg", "abstract/Silk.png");

  private PhotoTestData() {}

  /** Skips the calling test, saying why, when the Debian backgrounds are not installed. */
  static void assumeBackgrounds() {
    Assumptions.assumeTrue(
        Files.isDirectory(MATE) && Files.isDirectory(Path.of("/usr/share/backgrounds/gnome")),
        "SKIPPED: needs the Debian packages gnome-backgrounds and mate-backgrounds "
            + "(/usr/share/backgrounds/{gnome,mate}); scripts/install-deps.sh installs them");
  }

  /** Copies the five pictures to {@code root/mate/...} and returns {@code root/mate}. */
  static Path smallMate(Path root) throws IOException {
    assumeBackgrounds();
    Path mate = root.resolve("mate");
    for (String f : concat(TRAIN, HELD_OUT)) {
      Path src = MATE.resolve(f);
      Assumptions.assumeTrue(
          Files.isRegularFile(src), "SKIPPED: " + src + " is missing (mate-backgrounds changed?)");
      Files.createDirectories(mate.resolve(f).getParent());
      Files.copy(src, mate.resolve(f));
    }
    return mate;
  }

  private static List<String> concat(List<String> a, List<String> b) {
    return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
  }
}
