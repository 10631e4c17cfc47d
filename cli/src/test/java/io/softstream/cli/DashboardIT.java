package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.softstream.model.TokenizerConfig;
import io.softstream.worker.TestImages;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;
import picocli.CommandLine;

/**
 * The demo (tiny fixtures, embedded broker) starts the dashboard and prints its URL; a real
 * headless chromium loads it, waits for live values, submits a generation and checks every part
 * holds real values. Saves target/dashboard-it/dashboard.png. Skips when chromium or chromedriver
 * is absent ({@code scripts/install-deps.sh test} installs them).
 */
@Tag("integration")
class DashboardIT {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path DRIVER = Path.of("/usr/bin/chromedriver");

  @TempDir Path dir;

  @Test
  void dashboardShowsLiveValuesAndGeneratesInARealBrowser() throws Exception {
    assumeTrue(Files.isExecutable(CHROMIUM), "no " + CHROMIUM + ": apt-get install chromium");
    assumeTrue(Files.isExecutable(DRIVER), "no " + DRIVER + ": apt-get install chromium-driver");
    Path model = TestImages.tinyModel(dir.resolve("model"), TokenizerConfig.tiny("softvq"), "tiny");
    Path generator = TestImages.tinyGenerator(dir.resolve("generator"));
    StringWriter text = new StringWriter();
    Writer out = new SyncWriter(text);
    Thread demo =
        new Thread(
            () -> {
              CommandLine cl = Softstream.commandLine();
              cl.setOut(new PrintWriter(out));
              cl.setErr(new PrintWriter(out));
              cl.execute(
                  "demo",
                  "--data-dir",
                  dir.resolve("data").toString(),
                  "--fashion-images",
                  "8",
                  "--photos",
                  "0",
                  "--model",
                  model.toString(),
                  "--engine",
                  "pytorch",
                  "--generator",
                  generator.toString(),
                  "--generate-count",
                  "2",
                  "--dashboard-port",
                  "0",
                  "--keep-running");
            },
            "demo");
    demo.start();
    WebDriver browser = null;
    try {
      String url = awaitUrl(text, demo);
      System.setProperty("webdriver.chrome.driver", DRIVER.toString());
      ChromeOptions options = new ChromeOptions();
      options.setBinary(CHROMIUM.toFile());
      options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage");
      options.addArguments("--window-size=1400,1000");
      browser =
          new ChromeDriver(
              new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile()).build(),
              options);
      browser.get(url);
      WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(120));
      // Live values arrive by server-sent events as the demo streams.
      wait.until(b -> positive(b, "c-tokens") && positive(b, "c-reconstructions"));
      wait.until(b -> positive(b, "c-deadLetters"));
      wait.until(b -> !b.findElements(By.cssSelector("#gallery img.reconstruction")).isEmpty());
      wait.until(b -> b.findElement(By.id("models")).getText().contains("SERVING"));
      assertThat(browser.findElement(By.id("status")).getText()).startsWith("live");
      // The charts come from the statistics app where it runs, as the demo's does.
      wait.until(b -> b.findElement(By.id("chart-source")).getText().startsWith("the stats app"));
      assertThat(browser.findElement(By.id("lat-labels")).getText()).isEqualTo("p50 and p99");
      assertThat(browser.findElement(By.id("dead")).getText())
          .containsAnyOf("NotConfluentAvro", "UnknownSchemaId", "UndecodableImage");
      assertThat(browser.findElement(By.id("split")).getText()).contains("tiny v");
      assertThat(browser.findElement(By.id("gallery")).getText()).contains("B tokens");
      // The gallery is redrawn every second: read its sources in one script call.
      @SuppressWarnings("unchecked")
      java.util.List<String> sources =
          (java.util.List<String>)
              ((org.openqa.selenium.JavascriptExecutor) browser)
                  .executeScript(
                      "return [...document.querySelectorAll('#gallery img')].map(i => i.src)");
      assertThat(sources).isNotEmpty().allMatch(src -> src.startsWith("data:image/"));
      // The generation form: a label, through the generation app to the worker and back.
      browser.findElement(By.id("gen-label")).sendKeys("7");
      browser.findElement(By.id("gen-count")).clear();
      browser.findElement(By.id("gen-count")).sendKeys("2");
      browser.findElement(By.id("gen-submit")).click();
      wait.until(b -> b.findElements(By.cssSelector("#generated img.generated")).size() == 2);
      for (WebElement img : browser.findElements(By.cssSelector("#generated img.generated"))) {
        assertThat(img.getAttribute("src")).startsWith("data:image/png;base64,iVBOR");
        assertThat(
                (Long)
                    ((org.openqa.selenium.JavascriptExecutor) browser)
                        .executeScript("return arguments[0].naturalWidth", img))
            .isPositive();
      }
      assertThat(browser.findElement(By.id("gen-status")).getText()).contains("2 images in");
      Thread.sleep(1500); // one more live update before the picture
      Path shot = Path.of("target", "dashboard-it", "dashboard.png");
      Files.createDirectories(shot.getParent());
      Files.write(
          shot, ((org.openqa.selenium.TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
      System.out.println("DashboardIT: screenshot in " + shot.toAbsolutePath());
    } finally {
      if (browser != null) {
        browser.quit();
      }
      demo.interrupt(); // ends --keep-running; the demo stops its workers, apps and broker
      demo.join(60_000);
    }
  }

  private static boolean positive(WebDriver b, String id) {
    String t = b.findElement(By.id(id)).getText().trim();
    return t.matches("\\d+") && Long.parseLong(t) > 0;
  }

  private static String awaitUrl(StringWriter text, Thread demo) throws InterruptedException {
    Pattern p = Pattern.compile("Dashboard: (http://127\\.0\\.0\\.1:\\d+/)");
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    while (System.nanoTime() < deadline && demo.isAlive()) {
      Matcher m;
      synchronized (text) {
        m = p.matcher(text.toString());
      }
      if (m.find()) {
        return m.group(1);
      }
      Thread.sleep(200);
    }
    throw new AssertionError("the demo printed no dashboard URL:\n" + text);
  }

  /** The demo writes from its thread while the test reads. */
  private static final class SyncWriter extends Writer {
    private final StringWriter w;

    SyncWriter(StringWriter w) {
      this.w = w;
    }

    @Override
    public void write(char[] c, int off, int len) {
      synchronized (w) {
        w.write(c, off, len);
      }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  }
}
