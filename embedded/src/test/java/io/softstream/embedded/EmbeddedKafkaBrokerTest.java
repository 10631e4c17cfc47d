package io.softstream.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class EmbeddedKafkaBrokerTest {
  @Test
  void portsNamedInOverridesAreFound() {
    Map<String, String> overrides =
        Map.of(
            "listeners", "SASL_SSL://127.0.0.1:${port},INTERNAL://127.0.0.1:40123",
            "log.retention.ms", "60000");
    assertThat(EmbeddedKafkaBroker.portsIn(overrides)).containsExactly(40123);
  }

  @Test
  void heldPortsAreDistinctAndSkipTakenOnes() throws Exception {
    Set<Integer> taken = new HashSet<>(Set.of(1, 2));
    List<ServerSocket> held = new ArrayList<>();
    List<Integer> picked = new ArrayList<>();
    try {
      for (int i = 0; i < 40; i++) {
        picked.add(EmbeddedKafkaBroker.hold(held, taken));
      }
    } finally {
      for (ServerSocket s : held) {
        s.close();
      }
    }
    assertThat(new HashSet<>(picked)).hasSize(40).doesNotContain(1, 2);
    assertThat(taken).containsAll(picked);
  }
}
