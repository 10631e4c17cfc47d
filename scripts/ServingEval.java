import io.softstream.model.ModelDir;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.image.ImageTranslator;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.trainer.Dataset;
import io.softstream.trainer.Evaluation;
import io.softstream.trainer.PhotoCrops;
import io.softstream.trainer.TrainConfig;
import io.softstream.trainer.TrainerRun;
import io.softstream.worker.WorkerConfig;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;

/**
 * Scores a photo tokenizer on the held-out crops of `eval --dataset photos` as the encode worker sees them:
 * each crop's source window is sent as a PNG file (lossless, at source resolution, alpha kept) and decoded
 * by the translator the worker's default config builds (WorkerConfig.imageTranslator). Checks that these
 * pixels equal the trainer's held-out crops bit for bit, then prints the metrics. For comparison it also
 * scores the pixels of the serving path before issue 15 (bilinear halving, then bicubic, on black).
 *
 * <p>Run from the project root after ./softstream has built:
 * {@code java -Dai.djl.offline=true -cp "cli/target/classes:$(cat cli/target/classpath.txt)" scripts/ServingEval.java [MODEL_DIR]}
 */
public class ServingEval {
    public static void main(String[] args) throws Exception {
        Path modelDir = Path.of(args.length > 0 ? args[0] : "models/softvq-photo-64");
        TokenizerConfig model = ModelDir.readCard(modelDir).tokenizerConfig();
        TrainConfig d = TrainConfig.defaults();
        int size = model.imageSize(), count = d.photoHeldoutCrops(), per = 3 * size * size;
        long seed = TrainerRun.HELDOUT_PHOTO_SEED;
        ImageTranslator serve = new WorkerConfig(Map.of(WorkerConfig.BOOTSTRAP_SERVERS, "unused:1",
                WorkerConfig.SCHEMA_REGISTRY_URL, "mock://unused", WorkerConfig.MODEL_DIR, modelDir.toString()))
                .imageTranslator(model, ModelDir.readCard(modelDir));
        // The held-out files PhotoCrops reads, and its crop windows (same rule, seeds and order as PhotoCrops.crops).
        List<PhotoCrops.PhotoFile> readable = new ArrayList<>();
        for (PhotoCrops.PhotoFile f : PhotoCrops.files(d.photoDirs())) {
            if (!f.heldOut()) {
                continue;
            }
            try {
                ImageTranslator.Header h = serve.header(java.nio.file.Files.readAllBytes(f.path()), "");
                if (h.width() >= size && h.height() >= size) {
                    readable.add(f);
                }
            } catch (RuntimeException e) {
                // not readable (SVG): PhotoCrops skips it too
            }
        }
        int n = readable.size();
        float[] served = new float[count * per], before = new float[count * per];
        for (int fi = 0; fi < n; fi++) {
            int want = count / n + (fi < count % n ? 1 : 0);
            PhotoCrops.PhotoFile f = readable.get(fi);
            BufferedImage img = ImageIO.read(f.path().toFile());
            int w = img.getWidth(), h = img.getHeight();
            Random r = new Random(seed * 1_000_003L + f.key().hashCode() * 31L + f.path().getFileName().toString().hashCode());
            int hi = Math.max(size, Math.min(d.photoMaxSide(), Math.min(w, h)));
            for (int c = 0; c < want; c++) {
                int side = (int) Math.round(size * Math.exp(r.nextDouble() * Math.log(hi / (double) size)));
                side = Math.max(size, Math.min(hi, side));
                int x0 = r.nextInt(w - side + 1), y0 = r.nextInt(h - side + 1);
                ByteArrayOutputStream png = new ByteArrayOutputStream();
                ImageIO.write(img.getSubimage(x0, y0, side, side), "png", png);
                int at = (c * n + fi) * per;
                serve.decodeInto(png.toByteArray(), "image/png", served, at);
                before(ImageIO.read(new java.io.ByteArrayInputStream(png.toByteArray())), size, before, at);
            }
        }
        Dataset trainer = PhotoCrops.load(d.photoDirs(), true, count, size, d.photoMaxSide(), seed, null);
        System.err.println("serving pixels == trainer's held-out crops, bit for bit: " + Arrays.equals(served, trainer.pixels()));
        Map<String, Object> out = new LinkedHashMap<>();
        try (TokenizerRuntime rt = TokenizerRuntimes.open(modelDir, EngineKind.parse("auto"), TokenizerRuntimes.Part.BOTH)) {
            for (var e : Map.of("serving_path", served, "serving_path_before_issue_15", before).entrySet()) {
                Map<String, Object> m = Evaluation.evaluate(rt, null, new Dataset(e.getValue(), null, 3, size),
                        new Evaluation.Options(count, 0, 0, null));
                Map<String, Object> k = new LinkedHashMap<>();
                k.put("psnr", m.get("psnr"));
                k.put("ssim", m.get("ssim"));
                k.put("psnr_fp16_tokens", m.get("psnr_fp16_tokens"));
                k.put("engine", rt.engine().id());
                out.put(e.getKey(), k);
            }
            out.put("bit_identical_to_training_crops", Arrays.equals(served, trainer.pixels()));
            out.put("images", count);
        }
        System.out.println(io.softstream.model.ModelCard.JSON.writeValueAsString(out));
    }

    /** The encode worker's pixels before issue 15 (worker/internals/ImagePreprocessor, CROP of a square). */
    static void before(BufferedImage src, int size, float[] out, int off) {
        BufferedImage dst = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = dst.createGraphics();
        g.setColor(Color.BLACK);
        g.fillRect(0, 0, size, size);
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
        g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
        if (src.getWidth() <= size) {
            g.drawImage(src, 0, 0, null);
        } else {
            BufferedImage cur = src;
            while (cur.getWidth() / 2 >= size) {
                cur = draw(cur, cur.getWidth() / 2);
            }
            g.drawImage(draw(cur, size), 0, 0, null);
        }
        g.dispose();
        int[] rgb = dst.getRGB(0, 0, size, size, null, 0, size);
        int plane = size * size;
        for (int i = 0; i < plane; i++) {
            out[off + i] = ((rgb[i] >>> 16) & 0xff) / 127.5f - 1f;
            out[off + plane + i] = ((rgb[i] >>> 8) & 0xff) / 127.5f - 1f;
            out[off + 2 * plane + i] = (rgb[i] & 0xff) / 127.5f - 1f;
        }
    }

    private static BufferedImage draw(BufferedImage src, int s) {
        BufferedImage dst = new BufferedImage(s, s, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = dst.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(src, 0, 0, s, s, null);
        g.dispose();
        return dst;
    }
}
