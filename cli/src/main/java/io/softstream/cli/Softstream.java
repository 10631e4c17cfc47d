package io.softstream.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code softstream} command: one root, one subcommand per job. */
@Command(
    name = "softstream",
    mixinStandardHelpOptions = true,
    versionProvider = Softstream.Version.class,
    description = "Image events on Kafka to compact 1-D latent tokens (SoftVQ-VAE) and back.",
    subcommands = {
      DemoCommand.class,
      TrainCommand.class,
      TrainGeneratorCommand.class,
      TrainGeneratorCommand.Judge.class,
      EvalCommand.class,
      EncodeWorkerCommand.class,
      DecodeWorkerCommand.class,
      DecodeCommand.class,
      SimilarCommand.class,
      ExportCommand.class,
      BenchCommand.class,
      ModelsCommand.class,
      GenerateWorkerCommand.class,
      GenerateCommand.class,
      KafkaCommand.class,
      TopicsCommand.class,
      TopologyCommand.class,
      SendCommand.class,
      RequestCommand.class,
      TailCommand.class,
      DashboardCommand.class,
      RegistryCommand.class,
      DeployCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Softstream {

  public static void main(String[] args) {
    quietCudaProbesWithoutGpu();
    System.exit(commandLine().execute(args));
  }

  /**
   * Without an NVIDIA device, DJL's and ONNX Runtime's CUDA probes warn on every start about what
   * is expected on a CPU machine; logback.xml reads this property (set before the first logger).
   */
  static void quietCudaProbesWithoutGpu() {
    if (!java.nio.file.Files.exists(java.nio.file.Path.of("/dev/nvidia0"))
        && System.getProperty("softstream.cuda.log") == null) {
      System.setProperty("softstream.cuda.log", "ERROR");
    }
  }

  /** The configured command line; tests call {@code execute} on it and read its writers. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Softstream());
    cl.setExecutionExceptionHandler(Softstream::handle);
    return cl;
  }

  // Expected failures (bad config, unreachable cluster) print one clear message, not a stack trace;
  // SOFTSTREAM_DEBUG=1 shows the trace.
  private static int handle(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
    PrintWriter err = cl.getErr();
    if (System.getenv("SOFTSTREAM_DEBUG") != null) {
      e.printStackTrace(err);
    }
    err.println(
        cl.getColorScheme().errorText("softstream " + cl.getCommandName() + ": " + message(e)));
    err.flush();
    return e instanceof IllegalArgumentException
            || e instanceof org.apache.kafka.common.config.ConfigException
        ? 2
        : 1;
  }

  private static String message(Throwable e) {
    StringBuilder sb = new StringBuilder(String.valueOf(e.getMessage()));
    for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
      if (c.getMessage() != null && !sb.toString().contains(c.getMessage())) {
        sb.append("\n  caused by: ").append(c.getMessage());
      }
    }
    return sb.toString();
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Softstream.class.getPackage().getImplementationVersion();
      return new String[] {"softstream " + (v == null ? "0.1.0-SNAPSHOT" : v)};
    }
  }
}
