package io.softstream.model.generator;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * DiT block with adaLN-Zero conditioning.
 *
 * <p>Inputs {@code (x [B, N, D], c [B, D])}. {@code SiLU(c) -> ada Linear(D, 6D)} gives shift, scale and
 * gate for attention and MLP: {@code x += gate_a * Attn(LN(x) * (1 + scale_a) + shift_a)}, then the
 * same for the MLP ({@code Linear(D, rD) -> GELU -> Linear(rD, D)}). LN has no affine parameters.
 * {@code ada} is zero-initialised ({@link Generator#zeroInit()}), so a fresh block is the identity.
 * Child names: {@code ada, qkv, proj, fc1, fc2}.
 */
public final class AdaLnBlock extends AbstractBlock {
    private static final byte VERSION = 1;
    static final float LN_EPS = 1e-6f;

    private final int dim;
    private final int heads;
    final Linear ada;
    private final Linear qkv;
    private final Linear proj;
    private final Linear fc1;
    private final Linear fc2;

    /** A block of width {@code dim}, {@code heads} heads, MLP width {@code mlpRatio * dim}. */
    public AdaLnBlock(int dim, int heads, int mlpRatio) {
        super(VERSION);
        this.dim = dim;
        this.heads = heads;
        ada = addChildBlock("ada", Linear.builder().setUnits(6L * dim).build());
        qkv = addChildBlock("qkv", Linear.builder().setUnits(3L * dim).build());
        proj = addChildBlock("proj", Linear.builder().setUnits(dim).build());
        fc1 = addChildBlock("fc1", Linear.builder().setUnits((long) mlpRatio * dim).build());
        fc2 = addChildBlock("fc2", Linear.builder().setUnits(dim).build());
    }

    /** LayerNorm over the last axis without affine parameters. */
    static NDArray layerNorm(NDArray x) {
        NDArray mean = x.mean(new int[] {-1}, true);
        NDArray centred = x.sub(mean);
        NDArray var = centred.square().mean(new int[] {-1}, true);
        return centred.div(var.add(LN_EPS).sqrt());
    }

    /** {@code x * (1 + scale) + shift} with per-sample {@code [B, D]} modulation broadcast over tokens. */
    static NDArray modulate(NDArray x, NDArray shift, NDArray scale) {
        return x.mul(scale.expandDims(1).add(1f)).add(shift.expandDims(1));
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.get(0);
        NDArray c = inputs.get(1);
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        int hd = dim / heads;
        NDList mod = ada.forward(ps, new NDList(Activation.swish(c, 1f)), training).singletonOrThrow().split(6, 1);
        NDArray h = modulate(layerNorm(x), mod.get(0), mod.get(1));
        NDArray qkvOut = qkv.forward(ps, new NDList(h), training).singletonOrThrow()
                .reshape(b, t, 3, heads, hd).transpose(2, 0, 3, 1, 4);
        NDArray q = qkvOut.get(0);
        NDArray k = qkvOut.get(1);
        NDArray v = qkvOut.get(2);
        NDArray attn = q.matMul(k.transpose(0, 1, 3, 2)).mul(1.0 / Math.sqrt(hd)).softmax(-1);
        NDArray o = attn.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, dim);
        o = proj.forward(ps, new NDList(o), training).singletonOrThrow();
        x = x.add(o.mul(mod.get(2).expandDims(1)));
        h = modulate(layerNorm(x), mod.get(3), mod.get(4));
        h = Activation.gelu(fc1.forward(ps, new NDList(h), training).singletonOrThrow());
        h = fc2.forward(ps, new NDList(h), training).singletonOrThrow();
        x = x.add(h.mul(mod.get(5).expandDims(1)));
        return new NDList(x);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape in = inputShapes[0];
        ada.initialize(manager, dataType, inputShapes[1]);
        qkv.initialize(manager, dataType, in);
        proj.initialize(manager, dataType, in);
        fc1.initialize(manager, dataType, in);
        fc2.initialize(manager, dataType, fc1.getOutputShapes(new Shape[] {in})[0]);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }
}
