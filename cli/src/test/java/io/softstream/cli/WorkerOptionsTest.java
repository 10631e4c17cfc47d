package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.worker.WorkerConfig;
import io.softstream.worker.generation.GenerationSettings;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The worker commands' settings precedence: defaults < --config file < environment < flags, for
 * every layer and every worker command (the bug: each flag's default used to override the file).
 */
class WorkerOptionsTest {
  @TempDir Path dir;
  private final Map<String, String> env = new HashMap<>();
  private String rootBefore;

  @BeforeEach
  void setUp() {
    rootBefore = System.getProperty("softstream.root");
    System.setProperty("softstream.root", Path.of("..").toAbsolutePath().normalize().toString());
    Settings.environment = env::get;
  }

  @AfterEach
  void tearDown() {
    Settings.environment = System::getenv;
    if (rootBefore == null) {
      System.clearProperty("softstream.root");
    } else {
      System.setProperty("softstream.root", rootBefore);
    }
  }

  private Path file(String... lines) throws IOException {
    return Files.write(dir.resolve("worker.properties"), String.join("\n", lines).getBytes());
  }

  /**
   * Parses {@code args} as the command line of {@code command} and returns its validated settings.
   */
  private WorkerConfig config(Callable<Integer> command, String... args) throws Exception {
    new CommandLine(command).parseArgs(args);
    Map<String, Object> c =
        command instanceof EncodeWorkerCommand e
            ? e.config()
            : command instanceof DecodeWorkerCommand d
                ? d.config()
                : ((GenerateWorkerCommand) command).config();
    return new WorkerConfig(c);
  }

  private static Callable<Integer>[] workerCommands() {
    @SuppressWarnings("unchecked")
    Callable<Integer>[] all =
        new Callable[] {
          new EncodeWorkerCommand(), new DecodeWorkerCommand(), new GenerateWorkerCommand()
        };
    return all;
  }

  @Test
  void aTakenDefaultMetricsPortFallsBackToAFreeOneButAChosenPortStaysAnError() throws Exception {
    // Stands in for a worker: binding its metrics port is what fails when another worker has it.
    java.util.function.Function<WorkerConfig, io.softstream.worker.AbstractWorker> make =
        cfg -> {
          if (cfg.getInt(WorkerConfig.METRICS_PORT) != 0) {
            throw new java.io.UncheckedIOException(
                "Could not serve metrics", new java.net.BindException("Address already in use"));
          }
          return null;
        };
    EncodeWorkerCommand byDefault = new EncodeWorkerCommand();
    new CommandLine(byDefault).parseArgs("--model", "m");
    java.io.StringWriter out = new java.io.StringWriter();
    byDefault.options.create(byDefault.config(), make, new java.io.PrintWriter(out, true));
    assertThat(out.toString()).contains("metrics port 9400 is taken: using a free port");

    EncodeWorkerCommand chosen = new EncodeWorkerCommand();
    new CommandLine(chosen).parseArgs("--model", "m", "--metrics-port", "9400");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                chosen.options.create(
                    chosen.config(), make, new java.io.PrintWriter(new java.io.StringWriter())))
        .hasRootCauseInstanceOf(java.net.BindException.class);
  }

  @Test
  void withoutFileEnvironmentOrFlagsTheDefaultsApply() throws Exception {
    for (Callable<Integer> command : workerCommands()) {
      WorkerConfig c = config(command);
      assertThat(c.getString(WorkerConfig.BOOTSTRAP_SERVERS))
          .as(command.toString())
          .isEqualTo("localhost:9092");
      assertThat(c.getString(WorkerConfig.SCHEMA_REGISTRY_URL)).isEqualTo("http://localhost:8081");
      assertThat(c.getInt(WorkerConfig.BATCH_MAX_RECORDS)).isEqualTo(32);
      assertThat(c.getString(WorkerConfig.ENGINE)).isEqualTo("auto");
      assertThat(c.getInt(WorkerConfig.METRICS_PORT)).isEqualTo(9400);
      assertThat(c.getString(WorkerConfig.MODEL_DIR)).isNotBlank();
    }
  }

  @Test
  void aFileValueBeatsTheDefault() throws Exception {
    Path f =
        file(
            "bootstrap.servers=file:9092",
            "batch.max.records=7",
            "engine=pytorch",
            "metrics.port=-1",
            "model.dir=" + dir.resolve("file-model"));
    for (Callable<Integer> command : workerCommands()) {
      WorkerConfig c = config(command, "--config", f.toString());
      assertThat(c.getString(WorkerConfig.BOOTSTRAP_SERVERS))
          .as(command.toString())
          .isEqualTo("file:9092");
      assertThat(c.getInt(WorkerConfig.BATCH_MAX_RECORDS)).isEqualTo(7);
      assertThat(c.getString(WorkerConfig.ENGINE)).isEqualTo("pytorch");
      assertThat(c.getInt(WorkerConfig.METRICS_PORT)).isEqualTo(-1);
      assertThat(c.getString(WorkerConfig.MODEL_DIR))
          .isEqualTo(dir.resolve("file-model").toString());
    }
  }

  @Test
  void anEnvironmentVariableBeatsTheFile() throws Exception {
    Path f =
        file(
            "bootstrap.servers=file:9092",
            "engine=pytorch",
            "metrics.port=-1",
            "model.dir=/file/model");
    env.put("BOOTSTRAP_SERVERS", "env:9092");
    env.put("SOFTSTREAM_ENGINE", "onnxruntime");
    env.put("SOFTSTREAM_METRICS_PORT", "9500");
    env.put("SOFTSTREAM_MODEL", "/env/model");
    for (Callable<Integer> command : workerCommands()) {
      WorkerConfig c = config(command, "--config", f.toString());
      assertThat(c.getString(WorkerConfig.BOOTSTRAP_SERVERS))
          .as(command.toString())
          .isEqualTo("env:9092");
      assertThat(c.getString(WorkerConfig.ENGINE)).isEqualTo("onnxruntime");
      assertThat(c.getInt(WorkerConfig.METRICS_PORT)).isEqualTo(9500);
      assertThat(c.getString(WorkerConfig.MODEL_DIR)).isEqualTo("/env/model");
    }
  }

  @Test
  void anExplicitFlagBeatsTheEnvironmentVariable() throws Exception {
    Path f = file("bootstrap.servers=file:9092", "engine=pytorch", "batch.max.records=7");
    env.put("BOOTSTRAP_SERVERS", "env:9092");
    env.put("SOFTSTREAM_ENGINE", "onnxruntime");
    env.put("SOFTSTREAM_MODEL", "/env/model");
    for (Callable<Integer> command : workerCommands()) {
      WorkerConfig c =
          config(
              command,
              "--config",
              f.toString(),
              "--bootstrap-servers",
              "flag:9092",
              "--engine",
              "tensorrt",
              "--batch-size",
              "9",
              "--model",
              "/flag/model");
      assertThat(c.getString(WorkerConfig.BOOTSTRAP_SERVERS))
          .as(command.toString())
          .isEqualTo("flag:9092");
      assertThat(c.getString(WorkerConfig.ENGINE)).isEqualTo("tensorrt");
      assertThat(c.getInt(WorkerConfig.BATCH_MAX_RECORDS)).isEqualTo(9);
      assertThat(c.getString(WorkerConfig.MODEL_DIR)).isEqualTo("/flag/model");
    }
  }

  @Test
  void clientSecuritySettingsComeFromTheClientConfigBelowTheWorkersOwnFile() throws Exception {
    Path client =
        Files.write(
            dir.resolve("client.properties"),
            String.join(
                    "\n",
                    "bootstrap.servers=client:9093",
                    "security.protocol=SASL_SSL",
                    "sasl.mechanism=SCRAM-SHA-512",
                    "sasl.jaas.config=from-client-file",
                    "basic.auth.credentials.source=USER_INFO",
                    "basic.auth.user.info=enc:from-client-file",
                    "schema.registry.ssl.truststore.location=/client/trust.p12")
                .getBytes());
    // The user's own --config file wins over the client file; nothing the user set is replaced.
    Path own = file("sasl.jaas.config=from-own-file", "basic.auth.user.info=enc:own");
    for (Callable<Integer> command : workerCommands()) {
      WorkerConfig c =
          config(command, "--client-config", client.toString(), "--config", own.toString());
      assertThat(c.getString(WorkerConfig.BOOTSTRAP_SERVERS))
          .as(command.toString())
          .isEqualTo("client:9093");
      Map<String, Object> producer = c.producerConfig("encode");
      Map<String, Object> consumer = c.consumerConfig("encode");
      assertThat(producer)
          .containsEntry("security.protocol", "SASL_SSL")
          .containsEntry("sasl.jaas.config", "from-own-file");
      assertThat(consumer)
          .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
          .containsEntry("sasl.jaas.config", "from-own-file");
      // Registry settings go to the serdes only, not to the Kafka clients.
      assertThat(producer).doesNotContainKey("basic.auth.user.info");
      assertThat(c.serdeConfig())
          .containsEntry("basic.auth.user.info", "enc:own")
          .containsEntry("schema.registry.ssl.truststore.location", "/client/trust.p12");
    }
    // The environment names the client file when no flag does; the environment's address wins.
    env.put("SOFTSTREAM_CLIENT_CONFIG", client.toString());
    env.put("BOOTSTRAP_SERVERS", "env:9092");
    WorkerConfig c = config(new EncodeWorkerCommand());
    assertThat(c.getString(WorkerConfig.BOOTSTRAP_SERVERS)).isEqualTo("env:9092");
    assertThat(c.consumerConfig("encode")).containsEntry("sasl.jaas.config", "from-client-file");
  }

  @Test
  void encodeWorkerFlagsOfItsOwnFollowTheSameOrder() throws Exception {
    Path f = file("token.dtype=fp32", "image.resize=crop");
    assertThat(
            config(new EncodeWorkerCommand(), "--config", f.toString())
                .getString(WorkerConfig.TOKEN_DTYPE))
        .isEqualTo("fp32");
    WorkerConfig c =
        config(new EncodeWorkerCommand(), "--config", f.toString(), "--image-resize", "pad");
    assertThat(c.getString(WorkerConfig.TOKEN_DTYPE)).isEqualTo("fp32");
    assertThat(c.getString(WorkerConfig.IMAGE_RESIZE)).isEqualTo("pad");
  }

  @Test
  void generateWorkerGeneratorSettingsFollowTheSameOrder() throws Exception {
    Path f =
        file("generation.max.count=5", "generation.sampler=heun", "generator.dir=/file/generator");
    GenerateWorkerCommand fromFile = new GenerateWorkerCommand();
    new CommandLine(fromFile).parseArgs("--config", f.toString(), "--model", "/m");
    Map<String, Object> c = fromFile.config();
    assertThat(c)
        .containsEntry(GenerationSettings.MAX_COUNT, "5")
        .containsEntry(GenerationSettings.SAMPLER, "heun")
        .containsEntry(GenerationSettings.GENERATOR_DIR, "/file/generator");

    env.put("SOFTSTREAM_GENERATOR", "/env/generator");
    GenerateWorkerCommand withEnv = new GenerateWorkerCommand();
    new CommandLine(withEnv)
        .parseArgs("--config", f.toString(), "--model", "/m", "--max-count", "6");
    c = withEnv.config();
    assertThat(c)
        .containsEntry(GenerationSettings.MAX_COUNT, 6)
        .containsEntry(GenerationSettings.SAMPLER, "heun")
        .containsEntry(GenerationSettings.GENERATOR_DIR, "/env/generator");

    GenerateWorkerCommand withFlag = new GenerateWorkerCommand();
    new CommandLine(withFlag)
        .parseArgs("--config", f.toString(), "--model", "/m", "--generator", "/flag/generator");
    assertThat(withFlag.config())
        .containsEntry(GenerationSettings.GENERATOR_DIR, "/flag/generator");
  }

  @Test
  void theGenerateWorkerDecodesWithTheTokenizerItsGeneratorWasTrainedOnByDefault()
      throws Exception {
    WorkerConfig c = config(new GenerateWorkerCommand());
    assertThat(Path.of(c.getString(WorkerConfig.MODEL_DIR)).getFileName().toString())
        .isEqualTo("softvq-fmnist-16");
    assertThat(Path.of(c.getString(WorkerConfig.MODEL_DIR)))
        .isEqualTo(ShippedModels.model("softvq-fmnist-16"));
  }

  /**
   * As a user sees it: a bad value in the file stops the worker at start, unless a flag overrides
   * it.
   */
  @Test
  void aWorkerStartedWithAFileReportsTheFilesBadValueUnlessAFlagOverridesIt() throws Exception {
    Path f = file("batch.max.records=0", "bootstrap.servers=127.0.0.1:1");
    StringWriter err = new StringWriter();
    CommandLine cl = Softstream.commandLine();
    cl.setErr(new PrintWriter(err));
    assertThat(cl.execute("encode-worker", "--config", f.toString())).isEqualTo(2);
    assertThat(err.toString()).contains("Invalid value 0 for configuration batch.max.records");

    env.put("SOFTSTREAM_ENGINE", "bogus");
    err.getBuffer().setLength(0);
    assertThat(cl.execute("decode-worker", "--config", f.toString(), "--batch-size", "4"))
        .isEqualTo(2);
    assertThat(err.toString())
        .doesNotContain("batch.max.records")
        .contains("Invalid value bogus for configuration engine");
  }

  @Test
  void helpStatesThePrecedenceAndTheDefaults() {
    String help =
        new CommandLine(new EncodeWorkerCommand())
            .getUsageMessage(CommandLine.Help.Ansi.OFF)
            .replaceAll("\\s+", " "); // however the columns wrap
    assertThat(help)
        .contains("environment variables and flags win over it")
        .contains("the environment and flags win over it")
        .contains("default: localhost:9092")
        .contains("default: 9400")
        .contains("--topic-prefix");
  }
}
