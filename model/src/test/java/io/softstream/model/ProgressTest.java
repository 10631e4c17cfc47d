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
    now[0] = 1_000_000_000L;
    p.update(10); // 1 s after the start: too soon for a line
    now[0] = 4_000_000_000L;
    p.update(40); // 4 s: 10 images/s, 60 left
    now[0] = 5_000_000_000L;
    p.update(50); // 1 s after the last line: quiet
    now[0] = 8_000_000_000L;
    p.update(100); // the end always prints
    assertThat(lines)
        .containsExactly(
            "encode 40/100 images, 10 images/s, ETA 6 s",
            "encode 100/100 images, 13 images/s, ETA 0 s");
  }
}
