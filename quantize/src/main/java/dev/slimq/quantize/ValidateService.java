package dev.slimq.quantize;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.compute.ActivationType;
import dev.slimq.core.compute.Activations;
import dev.slimq.core.compute.ComputeBackend;
import dev.slimq.core.compute.Float64Reference;
import dev.slimq.core.compute.PreparedWeights;
import dev.slimq.core.progress.ProgressListener;
import dev.slimq.core.progress.ProgressTask;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.quantize.format.QuantFormat;
import dev.slimq.quantize.format.QuantizedCheckpointReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.SplittableRandom;

/**
 * {@code slimq validate}: runs every quantized linear layer of a checkpoint through the compute
 * backend's fused dequantize-and-multiply kernel on seeded probe activations and compares, norm-wise
 * ({@code ||y - y_ref|| / ||y_ref||}):
 * <ul>
 *   <li>with the float64 dequantization reference ({@link Float64Reference}): is the kernel right?
 *       At most {@value #KERNEL_TOLERANCE_F32} with f32 activations, {@value #KERNEL_TOLERANCE_F16}
 *       with f16 (which includes rounding the activations);</li>
 *   <li>with the float original's output, when {@code --reference} names it: how much did
 *       quantization change this layer's output?</li>
 * </ul>
 * Two probe sets per layer: Gaussian rows, and a heavy-tailed variant that scales a few input
 * channels up to 20×, as real activations have. A layer the logical form cannot express (GPTQ with
 * act-order) goes through the dense f32 kernel instead, and says so.
 */
public final class ValidateService {
    public static final double KERNEL_TOLERANCE_F32 = 1e-5;
    public static final double KERNEL_TOLERANCE_F16 = 1e-3;

    private ValidateService() {
    }

    /**
     * @param reference   the float checkpoint the quantized one was made from
     * @param batch       probe rows per probe set
     * @param maxError    fail (exit 7) when a layer's output error against the reference exceeds it
     */
    public record Options(Optional<Path> reference, int batch, long seed, OptionalDouble maxError, ActivationType activations) {
        public Options {
            if (batch < 1 || batch > 256) {
                throw new SlimqException(Failure.USAGE, "--batch must be between 1 and 256, got " + batch);
            }
            if (maxError.isPresent() && !(maxError.getAsDouble() > 0)) {
                throw new SlimqException(Failure.USAGE, "--max-error must be positive");
            }
        }
    }

    /**
     * One layer. {@code outputRelError} is NaN without a reference.
     *
     * @param kernel "fused" or "dense (act-order)"
     */
    public record Layer(String name, int rows, int cols, String kernel, double kernelRelError, double kernelRelErrorHeavy,
                        double outputRelError, double outputRelErrorHeavy, boolean kernelOk, boolean withinMaxError) {
    }

    public record Result(String path, String format, String backend, String activations, double kernelTolerance,
                         List<Layer> layers, int kernelFailures, int errorFailures, boolean passed) {
    }

    public static Result run(Path quantized, Options o, ComputeBackend backend, ProgressListener progress) {
        try (Checkpoint ckpt = Checkpoint.open(quantized);
             Checkpoint ref = o.reference().map(Checkpoint::open).orElse(null)) {
            QuantizedCheckpointReader reader = QuantFormat.detect(ckpt).orElseThrow(() -> new SlimqException(Failure.UNSUPPORTED,
                    quantized + " holds no quantized weights in a format slimq reads (compressed-tensors, gptq, slimq)"));
            double tolerance = o.activations() == ActivationType.F16 ? KERNEL_TOLERANCE_F16 : KERNEL_TOLERANCE_F32;
            List<Layer> layers = new ArrayList<>();
            ProgressTask task = progress.task("validate", reader.weights().size(), "layers");
            int kernelFailures = 0;
            int errorFailures = 0;
            for (String name : reader.weights()) {
                Layer l = layer(reader, ref, name, o, backend, tolerance);
                layers.add(l);
                kernelFailures += l.kernelOk() ? 0 : 1;
                errorFailures += l.withinMaxError() ? 0 : 1;
                task.advance(1);
            }
            return new Result(quantized.toString(), reader.format().name(), backend.name(), o.activations().name(), tolerance,
                    layers, kernelFailures, errorFailures, kernelFailures == 0 && errorFailures == 0);
        }
    }

    private static Layer layer(QuantizedCheckpointReader reader, Checkpoint ref, String name, Options o, ComputeBackend backend,
                               double tolerance) {
        long[] shape = reader.shape(name);
        int rows = Math.toIntExact(shape[0]);
        int cols = Math.toIntExact(shape[1]);
        QuantizedTensor q = null;
        try {
            q = reader.read(name);
        } catch (SlimqException e) {
            if (e.failure() != Failure.UNSUPPORTED) {
                throw e;
            }
        }
        float[] dense = q == null ? reader.dequantize(name) : null;
        float[][] probes = {probes(o.seed() ^ name.hashCode(), o.batch(), cols, false), probes(o.seed() ^ name.hashCode(), o.batch(), cols, true)};
        float[] original = null;
        if (ref != null) {
            if (!ref.contains(name)) {
                throw new SlimqException(Failure.BAD_INPUT, ref.root() + ": has no tensor '" + name + "' to compare with");
            }
            TensorInfo t = ref.tensor(name);
            if (t.rows() != rows || t.cols() != cols) {
                throw new SlimqException(Failure.BAD_INPUT, ref.root() + ": '" + name + "' is " + t.shapeString()
                        + " but the quantized weight is [" + rows + ", " + cols + "]");
            }
            original = QuantizeService.readFloats(ref, t);
        }
        double[] kernelErr = new double[2];
        double[] outErr = {Double.NaN, Double.NaN};
        try (PreparedWeights w = q != null ? backend.prepare(q) : backend.prepareDense(name, dense, rows, cols, DType.F32)) {
            for (int p = 0; p < 2; p++) {
                float[] x = probes[p];
                float[] y = new float[o.batch() * rows];
                try (Activations a = backend.activations(x, o.batch(), cols, o.activations())) {
                    backend.matmul(w, a, y);
                }
                double[] exact = q != null ? Float64Reference.matmul(q, x, o.batch()) : Float64Reference.matmulDense(dense, rows, cols, x, o.batch());
                kernelErr[p] = Float64Reference.relativeError(y, exact);
                if (original != null) {
                    outErr[p] = Float64Reference.relativeError(y, Float64Reference.matmulDense(original, rows, cols, x, o.batch()));
                }
            }
        }
        boolean kernelOk = kernelErr[0] <= tolerance && kernelErr[1] <= tolerance;
        boolean within = o.maxError().isEmpty() || original == null
                || (outErr[0] <= o.maxError().getAsDouble() && outErr[1] <= o.maxError().getAsDouble());
        return new Layer(name, rows, cols, q != null ? "fused" : "dense (act-order)", kernelErr[0], kernelErr[1], outErr[0], outErr[1],
                kernelOk, within);
    }

    /**
     * {@code batch} rows of N(0, 1) activations; the heavy variant multiplies every 16th input channel
     * (from a seeded offset) by a factor between 5 and 20, like the outlier features of real activations.
     */
    static float[] probes(long seed, int batch, int cols, boolean heavy) {
        SplittableRandom rnd = new SplittableRandom(seed + (heavy ? 1 : 0));
        float[] x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) gaussian(rnd);
        }
        if (heavy) {
            int offset = rnd.nextInt(16);
            for (int c = offset; c < cols; c += 16) {
                float f = (float) (5 + 15 * rnd.nextDouble());
                for (int b = 0; b < batch; b++) {
                    x[b * cols + c] *= f;
                }
            }
        }
        return x;
    }

    /** Box-Muller on a SplittableRandom (whose sequence, unlike nextGaussian's algorithm, we fix here). */
    private static double gaussian(SplittableRandom r) {
        double u = 1.0 - r.nextDouble();
        double v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
}
