package io.softstream.trainer.generator;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.util.List;

/** AdamW (PyTorch semantics, decoupled decay) with global-norm clipping, plus an EMA of the weights. */
final class Optimiser {
    private final List<NDArray> weights;
    private final boolean[] decay;
    private final NDList m = new NDList();
    private final NDList v = new NDList();
    private final NDList ema = new NDList();
    private final float weightDecay;
    private final float emaDecay;
    private long t;

    Optimiser(NDManager manager, List<NDArray> weights, boolean[] decay, float weightDecay, float emaDecay) {
        this.weights = weights;
        this.decay = decay;
        this.weightDecay = weightDecay;
        this.emaDecay = emaDecay;
        for (NDArray w : weights) {
            m.add(manager.zeros(w.getShape()));
            v.add(manager.zeros(w.getShape()));
            if (emaDecay > 0) {
                ema.add(w.duplicate());
            }
        }
    }

    /** One step at {@code lr}; returns the pre-clip gradient norm. Gradients are zeroed. */
    float step(float lr, float maxNorm) {
        // One device-to-host read per step instead of one per parameter.
        NDArray sq = null;
        for (NDArray w : weights) {
            NDArray s = w.getGradient().square().sum();
            sq = sq == null ? s : sq.add(s);
        }
        float norm = (float) Math.sqrt(sq.getFloat());
        float scale = maxNorm > 0 && norm > maxNorm ? maxNorm / (norm + 1e-6f) : 1f;
        t++;
        float bc1 = (float) (1 - Math.pow(0.9, t));
        float bc2 = (float) (1 - Math.pow(0.999, t));
        for (int i = 0; i < weights.size(); i++) {
            NDArray w = weights.get(i);
            NDArray g = w.getGradient();
            if (scale != 1f) {
                g.muli(scale);
            }
            if (decay[i] && weightDecay > 0) {
                w.muli(1 - lr * weightDecay);
            }
            m.get(i).muli(0.9f).addi(g.mul(0.1f));
            v.get(i).muli(0.999f).addi(g.square().mul(0.001f));
            w.subi(m.get(i).div(bc1).div(v.get(i).div(bc2).sqrt().add(1e-8f)).mul(lr));
            g.subi(g);
        }
        if (!ema.isEmpty()) {
            // Warm-up of the EMA decay (as in the tokenizer trainer): early weights are forgotten quickly.
            float d = Math.min(emaDecay, (1f + t) / (10f + t));
            for (int i = 0; i < ema.size(); i++) {
                ema.get(i).muli(d).addi(weights.get(i).mul(1 - d));
            }
        }
        return norm;
    }

    /** Copies the EMA into the weights (no-op without EMA). */
    void applyEma() {
        for (int i = 0; i < ema.size(); i++) {
            ema.get(i).copyTo(weights.get(i));
        }
    }
}
