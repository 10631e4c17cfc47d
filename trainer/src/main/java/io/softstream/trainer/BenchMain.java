package io.softstream.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TokenDecoder;
import io.softstream.model.TokenEncoder;
import io.softstream.model.TokenizerConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Command line: {@code BenchMain <model-dir>}; times encode and decode (DJL PyTorch engine, as many
 * threads as {@code ai.djl.pytorch.num_threads}) at batch 1 and 64 and prints images/s as JSON.
 */
public final class BenchMain {
    private BenchMain() {}

    /** Entry point. */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Map<String, Object> r = new LinkedHashMap<>();
        try (NDManager m = NDManager.newBaseManager()) {
            TokenEncoder enc = ModelDir.loadEncoder(dir, m);
            TokenDecoder dec = ModelDir.loadDecoder(dir, m);
            TokenizerConfig c = enc.config();
            ParameterStore ps = new ParameterStore(m, false);
            for (int b : new int[] {1, 64}) {
                NDArray x = m.randomUniform(-1, 1, new Shape(b, c.channels(), c.imageSize(), c.imageSize()));
                NDArray z = m.randomUniform(-1, 1, new Shape(b, c.tokens(), c.codeDim()));
                int reps = b == 1 ? 200 : 10;
                r.put("encode_images_per_s_batch" + b, time(reps, b, () -> enc.forward(ps, new NDList(x), false).get(0).toFloatArray()));
                r.put("decode_images_per_s_batch" + b, time(reps, b, () -> dec.forward(ps, new NDList(z), false).get(0).toFloatArray()));
            }
        }
        r.put("threads", System.getProperty("ai.djl.pytorch.num_threads", "default"));
        System.out.println(ModelCard.JSON.writeValueAsString(r));
    }

    private static double time(int reps, int batch, Runnable f) {
        for (int i = 0; i < 3; i++) {
            try (NDScope s = new NDScope()) {
                s.suppressNotUsedWarning();
                f.run();
            }
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < reps; i++) {
            try (NDScope s = new NDScope()) {
                s.suppressNotUsedWarning();
                f.run();
            }
        }
        return reps * batch / ((System.nanoTime() - t0) / 1e9);
    }
}
