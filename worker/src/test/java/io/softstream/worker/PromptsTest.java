package io.softstream.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PromptsTest {
  private final Prompts p = Prompts.fashionMnist();

  @ParameterizedTest
  @CsvSource({
    "ankle boot, 9",
    "Ankle Boots, 9",
    "boots, 9",
    "a pair of sneakers, 7",
    "sneaker, 7",
    "running shoes, 7",
    "dress, 3",
    "a red dress, 3",
    "Dresses, 3",
    "tee, 0",
    "t-shirt, 0",
    "T-shirt/top, 0",
    "TSHIRT, 0",
    "top, 0",
    "handbag, 8",
    "purse, 8",
    "purses, 8",
    "bag, 8",
    "trousers, 1",
    "pants, 1",
    "jeans, 1",
    "a pair of jeans, 1",
    "trouser, 1",
    "sandals, 5",
    "sandal, 5",
    "coat, 4",
    "jacket, 4",
    "pullover, 2",
    "sweater, 2",
    "shirt, 6",
    "dress shirt, 6",
    "blouse, 6",
    "'  The   COAT!  ', 4"
  })
  void matchesClassNamesAndSynonyms(String prompt, int label) {
    assertThat(p.match(prompt)).hasValue(label);
    assertThat(p.resolve(prompt)).isEqualTo(label);
  }

  @Test
  void unknownEmptyAndAmbiguousPromptsDoNotMatch() {
    assertThat(p.match("unicorn")).isEmpty();
    assertThat(p.match("")).isEmpty();
    assertThat(p.match(null)).isEmpty();
    assertThat(p.match("bootstrap")).isEmpty(); // whole words only
    assertThat(p.match("shirt and dress")).isEmpty(); // two classes, equally specific
    assertThatThrownBy(() -> p.resolve("unicorn"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'unicorn'")
        .hasMessageContaining("0 T-shirt/top")
        .hasMessageContaining("9 Ankle boot");
  }

  @Test
  void numberedAndCustomVocabularies() {
    Prompts n = Prompts.numbered(3);
    assertThat(n.match("2")).hasValue(2);
    assertThat(n.accepted()).isEqualTo("0 0, 1 1, 2 2");
    Prompts c = new Prompts(java.util.List.of("cat", "dog"), Map.of("kitten", 0, "puppies", 1));
    assertThat(c.match("a puppy")).isEmpty(); // no "-ies" rule: only plural "s" is dropped
    assertThat(c.match("puppies")).hasValue(1);
    assertThat(c.match("kittens")).hasValue(0);
    assertThatThrownBy(() -> new Prompts(java.util.List.of("cat"), Map.of("dog", 1)))
        .hasMessageContaining("outside");
  }
}
