package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Every shell block of the READMEs is either run by ReadmeIT or marked with the reason it cannot
 * be, and every {@code ./softstream} command in any block parses as written: the subcommand exists,
 * every option is known and every value converts.
 */
class ReadmeBlocksTest {
  @Test
  void everyShellBlockIsRunnableOrSaysWhyNot() throws Exception {
    List<ReadmeBlocks> blocks = ReadmeBlocks.all();
    assertThat(blocks).hasSizeGreaterThanOrEqualTo(10);
    for (ReadmeBlocks b : blocks) {
      assertThat(b.runnable() || b.mark().matches("not-run: \\S.{10,}"))
          .as(
              "%s: a shell block must be fenced ```bash runnable (ReadmeIT runs it as written) or "
                  + "```bash not-run: REASON (why a test cannot, and what covers it); found ```%s",
              b.where(), "bash " + b.mark())
          .isTrue();
    }
    assertThat(blocks.stream().filter(ReadmeBlocks::runnable).count()).isGreaterThanOrEqualTo(3);
  }

  @Test
  void everySoftstreamCommandParsesAsWritten() throws Exception {
    int parsed = 0;
    for (ReadmeBlocks b : ReadmeBlocks.all()) {
      for (List<String> args : b.softstreamCommands()) {
        try {
          CommandLine.ParseResult r =
              Softstream.commandLine().parseArgs(args.toArray(String[]::new));
          assertThat(r.hasSubcommand())
              .as("%s: ./softstream %s names a command", b.where(), String.join(" ", args))
              .isTrue();
        } catch (CommandLine.ParameterException e) {
          throw new AssertionError(
              b.where() + ": ./softstream " + String.join(" ", args) + ": " + e.getMessage(), e);
        }
        parsed++;
      }
    }
    assertThat(parsed).isGreaterThanOrEqualTo(25);
  }

  @Test
  void shellWordsAreSplitAsBashSplitsThem() {
    assertThat(
            ReadmeBlocks.words(
                "./softstream send a.png '/x/pixels-*.webp' \"b c\" &   # comment 'quoted'"))
        .containsExactly("./softstream", "send", "a.png", "/x/pixels-*.webp", "b c");
    assertThat(ReadmeBlocks.words("./softstream request --prompt \"ankle boot\" --count 4"))
        .containsExactly("./softstream", "request", "--prompt", "ankle boot", "--count", "4");
    assertThat(ReadmeBlocks.words("kill %1 %2; echo done")).containsExactly("kill", "%1", "%2");
  }
}
