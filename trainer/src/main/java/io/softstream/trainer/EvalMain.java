package io.softstream.trainer;

import ai.djl.ndarray.NDManager;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TokenDecoder;
import io.softstream.model.TokenEncoder;
import java.nio.file.Path;
import java.util.Map;

/**
 * Command line: {@code EvalMain <model-dir> [test-images] [probe-train-images] [data-dir]}; evaluates an
 * existing tokenizer directory on Fashion-MNIST and prints the {@link Evaluation} JSON (the card is
 * not changed).
 */
public final class EvalMain {
    private EvalMain() {}

    /** Entry point. */
    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: EvalMain <model-dir> [test-images] [probe-train-images] [data-dir]");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        int nTest = args.length > 1 ? Integer.parseInt(args[1]) : 10000;
        int nProbe = args.length > 2 ? Integer.parseInt(args[2]) : 10000;
        Path data = Path.of(args.length > 3 ? args[3] : TrainConfig.defaults().dataDir());
        try (NDManager m = NDManager.newBaseManager()) {
            TokenEncoder enc = ModelDir.loadEncoder(dir, m);
            TokenDecoder dec = ModelDir.loadDecoder(dir, m);
            Map<String, Object> r = Evaluation.evaluate(enc, dec, Dataset.fashionMnist(data, true, nProbe),
                    Dataset.fashionMnist(data, false, 0), new Evaluation.Options(nTest, nProbe, 500, null));
            System.out.println(ModelCard.JSON.writeValueAsString(r));
        }
    }
}
