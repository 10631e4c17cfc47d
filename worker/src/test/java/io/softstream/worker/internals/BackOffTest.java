package io.softstream.worker.internals;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BackOffTest {
  private final FakeClock clock = new FakeClock();
  private final BackOff backOff = new BackOff(BackOff.INITIAL, BackOff.MAX, clock);

  @Test
  void theDelayDoublesUpToTheCapAndStartsOverAfterASuccess() {
    List<Long> delays = new ArrayList<>();
    for (int i = 0; i < 9; i++) {
      delays.add(backOff.failed().toMillis());
    }
    assertThat(delays).containsExactly(100L, 200L, 400L, 800L, 1600L, 3200L, 5000L, 5000L, 5000L);
    backOff.succeeded();
    assertThat(backOff.failed()).isEqualTo(Duration.ofMillis(100));
  }

  @Test
  void resumeIsDueOnceWhenTheDelayHasPassedOnTheClock() {
    assertThat(backOff.resumeDue()).isFalse();
    backOff.failed();
    clock.advance(Duration.ofMillis(99));
    assertThat(backOff.resumeDue()).isFalse();
    clock.advance(Duration.ofMillis(1));
    assertThat(backOff.resumeDue()).isTrue();
    assertThat(backOff.resumeDue()).isFalse();
  }
}
