package io.softstream.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProgressTest {
  @Test
  void printsRateAndEtaEveryFewSecondsAndAtTheEnd() {
    long[] now = {0};
    List<String> lines = new ArrayList<>();
    Progress p = new Progress("encode", 100, lines::add, () -> now[0]);
    now[0] = 3_500_000_000L;
    p.update(0); // nothing through yet: no ETA
    now[0] = 4_000_000_000L;
    p.update(10); // 0.5 s after the last line: too soon for another
    now[0] = 7_000_000_000L;
    p.update(70); // 7 s: 10 images/s, 30 left
    now[0] = 8_000_000_000L;
    p.update(100); // the end always prints
    assertThat(lines)
        .containsExactly(
            "encode 0/100 images, 0 images/s, ETA ? s",
            "encode 70/100 images, 10 images/s, ETA 3 s",
            "encode 100/100 images, 13 images/s, ETA 0 s");
  }
}
