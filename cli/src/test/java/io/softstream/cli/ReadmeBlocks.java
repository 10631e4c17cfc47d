package io.softstream.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The shell blocks of the READMEs a user pastes from, with their marks. Every one is fenced either
 * {@code ```bash runnable} (ReadmeIT runs it as written) or {@code ```bash not-run: REASON} (why it
 * cannot run in a test, e.g. a server that runs until Ctrl-C or a 44-minute training run, and which
 * test covers it instead); {@link ReadmeBlocksTest} parses the {@code ./softstream} commands of
 * both through the launcher's option parser.
 */
record ReadmeBlocks(String file, int line, String mark, String body) {
  static final Path ROOT = Path.of(System.getProperty("softstream.root", "..")).toAbsolutePath();

  /** The files whose shell blocks are held to this. */
  static final List<String> FILES = List.of("README.md", "clients/python/README.md");

  /** A fence that opens a shell block: the language, then the rest of the info string. */
  private static final Pattern FENCE =
      Pattern.compile("(?m)^```(bash|sh|shell|console|zsh)\\b[ \\t]*([^\\n]*)\\n");

  static List<ReadmeBlocks> all() throws Exception {
    List<ReadmeBlocks> out = new ArrayList<>();
    for (String f : FILES) {
      String text = Files.readString(ROOT.resolve(f));
      Matcher m = FENCE.matcher(text);
      while (m.find()) {
        int end = text.indexOf("\n```", m.end() - 1);
        String body = text.substring(m.end(), end + 1);
        int line = (int) text.substring(0, m.start()).chars().filter(c -> c == '\n').count() + 1;
        out.add(new ReadmeBlocks(f, line, m.group(2).trim(), body));
      }
    }
    return out;
  }

  boolean runnable() {
    return mark.equals("runnable");
  }

  String where() {
    return file + ":" + line;
  }

  /**
   * The argument lists of the {@code ./softstream} commands in this block, as bash would split
   * them: continuation lines joined, comments and a trailing {@code &} dropped, quotes removed.
   */
  List<List<String>> softstreamCommands() {
    List<List<String>> cmds = new ArrayList<>();
    for (String line : body.replace("\\\n", " ").split("\n")) {
      List<String> words = words(line);
      if (!words.isEmpty() && words.get(0).equals("./softstream")) {
        cmds.add(words.subList(1, words.size()));
      }
    }
    return cmds;
  }

  /** Shell words of one line, up to a comment or a control operator ({@code & ; | &&}). */
  static List<String> words(String line) {
    List<String> words = new ArrayList<>();
    StringBuilder w = null;
    char quote = 0;
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (quote != 0) {
        if (c == quote) {
          quote = 0;
        } else if (c == '\\' && quote == '"' && i + 1 < line.length()) {
          w.append(line.charAt(++i));
        } else {
          w.append(c);
        }
      } else if (c == '\'' || c == '"') {
        quote = c;
        w = w == null ? new StringBuilder() : w;
      } else if (c == '\\' && i + 1 < line.length()) {
        w = w == null ? new StringBuilder() : w;
        w.append(line.charAt(++i));
      } else if (Character.isWhitespace(c) || c == '&' || c == ';' || c == '|' || c == '#') {
        if (c == '#' && w != null) {
          w.append(c); // '#' inside a word is not a comment
          continue;
        }
        if (w != null) {
          words.add(w.toString());
          w = null;
        }
        if (c != ' ' && c != '\t') {
          break;
        }
      } else {
        w = w == null ? new StringBuilder() : w;
        w.append(c);
      }
    }
    if (w != null) {
      words.add(w.toString());
    }
    return words;
  }
}
