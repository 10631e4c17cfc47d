package io.softstream.trainer;

import io.softstream.model.ModelCard;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Command line: {@code TrainMain [--config file.json] [key=value ...]}; prints progress lines and
 * finally the {@link TrainingReport} as JSON. Set {@code -Dai.djl.pytorch.num_threads=1} (and
 * {@code num_interop_threads}) to bound CPU use.
 */
public final class TrainMain {
    private TrainMain() {}

    /** Entry point; exits non-zero on failure. */
    public static void main(String[] args) throws Exception {
        TrainConfig cfg = TrainConfig.defaults();
        Map<String, String> overrides = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config")) {
                cfg = TrainConfig.fromJson(Path.of(args[++i]));
            } else if (args[i].contains("=")) {
                int eq = args[i].indexOf('=');
                overrides.put(args[i].substring(0, eq), args[i].substring(eq + 1));
            } else {
                System.err.println("usage: TrainMain [--config file.json] [key=value ...], got " + args[i]);
                System.exit(2);
            }
        }
        cfg = cfg.withOverrides(overrides);
        System.out.println("config: " + ModelCard.JSON.writeValueAsString(cfg).replaceAll("\\s+", " "));
        TrainingReport report = TrainerRun.run(cfg);
        System.out.println(ModelCard.JSON.writeValueAsString(report));
    }
}
