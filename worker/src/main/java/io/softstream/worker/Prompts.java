package io.softstream.worker;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Matches free-text prompts to class labels: class names plus common synonyms, case, articles,
 * punctuation and plural "s" ignored.
 *
 * <p>A prompt matches when, after normalisation, it equals a phrase or contains it as whole words
 * ("a red dress" is a dress). The longest phrase found wins ("ankle boot" over "boot", "t shirt"
 * over "shirt"); two different classes found with equally long phrases make the prompt ambiguous,
 * and ambiguous prompts do not match.
 *
 * <pre>{@code
 * Prompts p = Prompts.fashionMnist();
 * p.match("a pair of sneakers"); // OptionalInt[7]
 * p.resolve("unicorn");           // IllegalArgumentException naming the classes
 * }</pre>
 */
public final class Prompts {
  private final List<String> classNames;
  private final Map<String, Integer> phrases;

  /**
   * @param classNames display name per label id
   * @param synonyms extra phrases (any case) per label id; each class name is always a phrase
   */
  public Prompts(List<String> classNames, Map<String, Integer> synonyms) {
    this.classNames = List.copyOf(classNames);
    this.phrases = new LinkedHashMap<>();
    for (int i = 0; i < classNames.size(); i++) {
      for (String part : classNames.get(i).split("/")) {
        phrases.put(normalise(part), i);
      }
    }
    synonyms.forEach(
        (k, v) -> {
          if (v < 0 || v >= classNames.size()) {
            throw new IllegalArgumentException(
                "synonym '"
                    + k
                    + "' points at label "
                    + v
                    + ", outside 0.."
                    + (classNames.size() - 1));
          }
          phrases.put(normalise(k), v);
        });
  }

  /** The ten Fashion-MNIST classes (label ids as in the data set) and their common synonyms. */
  public static Prompts fashionMnist() {
    Map<String, Integer> s = new LinkedHashMap<>();
    for (String w :
        new String[] {"t-shirt", "tshirt", "tee", "tee shirt", "top", "tank top", "tank"}) {
      s.put(w, 0);
    }
    for (String w : new String[] {"trousers", "pants", "jeans", "slacks", "chinos", "leggings"}) {
      s.put(w, 1);
    }
    for (String w :
        new String[] {"pullover", "sweater", "jumper", "sweatshirt", "hoodie", "cardigan"}) {
      s.put(w, 2);
    }
    for (String w : new String[] {"dress", "gown", "frock"}) {
      s.put(w, 3);
    }
    for (String w : new String[] {"coat", "jacket", "overcoat", "parka", "raincoat", "blazer"}) {
      s.put(w, 4);
    }
    for (String w : new String[] {"sandal", "flip flop", "flip-flop", "slipper"}) {
      s.put(w, 5);
    }
    for (String w :
        new String[] {"shirt", "blouse", "button-down", "button down shirt", "dress shirt"}) {
      s.put(w, 6);
    }
    for (String w :
        new String[] {"sneaker", "trainer", "running shoe", "shoe", "tennis shoe", "sport shoe"}) {
      s.put(w, 7);
    }
    for (String w :
        new String[] {"bag", "handbag", "purse", "tote", "backpack", "satchel", "clutch"}) {
      s.put(w, 8);
    }
    for (String w : new String[] {"ankle boot", "boot", "bootie", "booty"}) {
      s.put(w, 9);
    }
    return new Prompts(
        List.of(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot"),
        s);
  }

  /** Labels only, named "0".."n-1": for generators whose classes have no names. */
  public static Prompts numbered(int classes) {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < classes; i++) {
      names.add(Integer.toString(i));
    }
    return new Prompts(names, Map.of());
  }

  public List<String> classNames() {
    return classNames;
  }

  public int size() {
    return classNames.size();
  }

  /** The label of {@code prompt}, or empty when it names no class or more than one. */
  public OptionalInt match(String prompt) {
    if (prompt == null) {
      return OptionalInt.empty();
    }
    String p = " " + normalise(prompt) + " ";
    int bestLen = -1;
    int best = -1;
    boolean tie = false;
    for (Map.Entry<String, Integer> e : phrases.entrySet()) {
      String phrase = e.getKey();
      if (phrase.isEmpty() || !p.contains(" " + phrase + " ")) {
        continue;
      }
      if (phrase.length() > bestLen) {
        bestLen = phrase.length();
        best = e.getValue();
        tie = false;
      } else if (phrase.length() == bestLen && e.getValue() != best) {
        tie = true;
      }
    }
    return best < 0 || tie ? OptionalInt.empty() : OptionalInt.of(best);
  }

  /**
   * The label of {@code prompt}.
   *
   * @throws IllegalArgumentException naming the accepted classes when it matches none (or several)
   */
  public int resolve(String prompt) {
    OptionalInt m = match(prompt);
    if (m.isEmpty()) {
      throw new IllegalArgumentException(
          "Prompt '"
              + prompt
              + "' names no single known class; use one of "
              + accepted()
              + " (or a common synonym such as 'sneakers', 'jeans', 'handbag')");
    }
    return m.getAsInt();
  }

  /** "0 T-shirt/top, 1 Trouser, ...": the accepted values, for error messages. */
  public String accepted() {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < classNames.size(); i++) {
      sb.append(i == 0 ? "" : ", ").append(i).append(' ').append(classNames.get(i));
    }
    return sb.toString();
  }

  /**
   * Lower case, letters and digits only, single spaces, without articles, "pair(s) of", and plural
   * endings.
   */
  static String normalise(String s) {
    String[] words = s.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", " ").trim().split(" ");
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < words.length; i++) {
      String w = words[i];
      if (w.isEmpty()
          || w.equals("a")
          || w.equals("an")
          || w.equals("the")
          || w.equals("some")
          || ((w.equals("pair") || w.equals("pairs"))
              && i + 1 < words.length
              && words[i + 1].equals("of"))) {
        continue;
      }
      if (w.equals("of")
          && i > 0
          && (words[i - 1].equals("pair") || words[i - 1].equals("pairs"))) {
        continue;
      }
      sb.append(sb.length() == 0 ? "" : " ").append(singular(w));
    }
    return sb.toString();
  }

  private static String singular(String w) {
    if (w.length() > 4
        && (w.endsWith("sses") || w.endsWith("shes") || w.endsWith("ches") || w.endsWith("xes"))) {
      return w.substring(0, w.length() - 2);
    }
    if (w.length() > 3 && w.endsWith("s") && !w.endsWith("ss") && !w.endsWith("us")) {
      return w.substring(0, w.length() - 1);
    }
    return w;
  }
}
