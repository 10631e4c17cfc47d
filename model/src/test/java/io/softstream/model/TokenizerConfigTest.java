package io.softstream.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Which settings a fine-tuning run may change ({@code init_from}): those that hold no weights. */
class TokenizerConfigTest {
  @Test
  void tauAndLossWeightsMayChangeButNotShapesOrQuantizer() {
    TokenizerConfig c = TokenizerConfig.fashionMnist();
    TokenizerConfig sharper =
        new TokenizerConfig(
            32, 1, 4, 32, 16, 512, 2, 0.02f, "softvq", 0.05f, 0.02f, 0.5f, 128, 4, 4, 128, 4, 4, 4);
    assertThat(c.sameArchitecture(sharper)).isTrue();
    assertThat(sharper.sameArchitecture(c)).isTrue();
    TokenizerConfig biggerBook =
        new TokenizerConfig(
            32, 1, 4, 32, 16, 1024, 2, 0.07f, "softvq", 0.01f, 0.01f, 0.25f, 128, 4, 4, 128, 4, 4,
            4);
    assertThat(c.sameArchitecture(biggerBook)).isFalse();
    TokenizerConfig hard =
        new TokenizerConfig(
            32, 1, 4, 32, 16, 512, 2, 0.07f, "hardvq", 0.01f, 0.01f, 0.25f, 128, 4, 4, 128, 4, 4,
            4);
    assertThat(c.sameArchitecture(hard)).isFalse();
  }
}
