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
 *
 * <p>The weights come from a {@link Source}: the checkpoint formats of this module, or a GGUF file
 * through the convert module's adapter ({@code dev.slimq.convert.hf.GgufValidateSource}), which
 * supplies its own exact reference and the mapping to the original's names and row order.
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

    /**
     * The quantized weights validate runs through the kernels, whoever stores them: the checkpoint
     * formats of {@link QuantizedCheckpointReader} here, GGUF files in the convert module (which this
     * module cannot see). Only {@link #weights}, {@link #shape}, {@link #read} and {@link #dequantize}
     * need a body; the defaults suit a source whose logical form is exactly what the file stores and
     * whose weights carry the float checkpoint's names and row order.
     */
    public interface Source {
        /** The format's name for the report ({@code COMPRESSED_TENSORS}, {@code GGUF}, ...). */
        String format();

        /** The quantized weights, in the order they are reported. */
        List<String> weights();

        /** {@code [rows, cols]} of a quantized weight. */
        long[] shape(String weight);

        /** The logical form; {@link Failure#UNSUPPORTED} sends the weight through the dense kernel ({@link #dequantize}). */
        QuantizedTensor read(String weight);

        /** The weight as row-major floats, for weights the logical form cannot express. */
        float[] dequantize(String weight);

        /**
         * The float64 product with the weight exactly as the file defines it: what the kernel error is
         * measured against. The default is {@link Float64Reference#matmul} of the logical form, right
         * when {@code q} holds the stored values exactly; a source whose logical form rounds something
         * (GGUF Q4_1's min as a float zero) computes it from its own bytes instead.
         */
        default double[] exactMatmul(String weight, QuantizedTensor q, float[] x, int batch) {
            return Float64Reference.matmul(q, x, batch);
        }

        /** Names the weight may have in the float reference checkpoint, tried in order. */
        default List<String> referenceNames(String weight) {
            return List.of(weight);
        }

        /**
         * The reference weight ({@code [rows, cols]} row-major) with its rows in this source's row order,
         * so both products line up output for output (GGUF's llama Q/K rows are permuted).
         */
        default float[] alignReference(String weight, float[] original, int rows, int cols) {
            return original;
        }
    }

    public static Result run(Path quantized, Options o, ComputeBackend backend, ProgressListener progress) {
        try (Checkpoint ckpt = Checkpoint.open(quantized)) {
            QuantizedCheckpointReader reader = QuantFormat.detect(ckpt).orElseThrow(() -> new SlimqException(Failure.UNSUPPORTED,
                    quantized + " holds no quantized weights in a format slimq reads (compressed-tensors, gptq, slimq, gguf)"));
            return run(quantized.toString(), new ReaderSource(reader), o, backend, progress);
        }
    }

    /** Validates the weights of {@code source} (which the caller keeps open and closes); {@code path} names it in the report. */
    public static Result run(String path, Source source, Options o, ComputeBackend backend, ProgressListener progress) {
        try (Checkpoint ref = o.reference().map(Checkpoint::open).orElse(null)) {
            double tolerance = o.activations() == ActivationType.F16 ? KERNEL_TOLERANCE_F16 : KERNEL_TOLERANCE_F32;
            List<Layer> layers = new ArrayList<>();
            ProgressTask task = progress.task("validate", source.weights().size(), "layers");
            int kernelFailures = 0;
            int errorFailures = 0;
            for (String name : source.weights()) {
                Layer l = layer(source, ref, name, o, backend, tolerance);
                layers.add(l);
                kernelFailures += l.kernelOk() ? 0 : 1;
                errorFailures += l.withinMaxError() ? 0 : 1;
                task.advance(1);
            }
            return new Result(path, source.format(), backend.name(), o.activations().name(), tolerance,
                    layers, kernelFailures, errorFailures, kernelFailures == 0 && errorFailures == 0);
        }
    }

    /** A checkpoint format's reader as a {@link Source}: its logical form is the stored values exactly. */
    private record ReaderSource(QuantizedCheckpointReader reader) implements Source {
        @Override
        public String format() {
            return reader.format().name();
        }

        @Override
        public List<String> weights() {
            return reader.weights();
        }

        @Override
        public long[] shape(String weight) {
            return reader.shape(weight);
        }

        @Override
        public QuantizedTensor read(String weight) {
            return reader.read(weight);
        }

        @Override
        public float[] dequantize(String weight) {
            return reader.dequantize(weight);
        }
    }

    private static Layer layer(Source reader, Checkpoint ref, String name, Options o, ComputeBackend backend,
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
            List<String> candidates = reader.referenceNames(name);
            String refName = candidates.stream().filter(ref::contains).findFirst().orElseThrow(() ->
                    new SlimqException(Failure.BAD_INPUT, ref.root() + ": has no tensor '" + candidates.getFirst() + "' to compare with"
                            + (candidates.getFirst().equals(name) ? "" : " (for '" + name + "')")));
            TensorInfo t = ref.tensor(refName);
            if (t.rows() != rows || t.cols() != cols) {
                throw new SlimqException(Failure.BAD_INPUT, ref.root() + ": '" + refName + "' is " + t.shapeString()
                        + " but the quantized weight is [" + rows + ", " + cols + "]");
            }
            original = reader.alignReference(name, QuantizeService.readFloats(ref, t), rows, cols);
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
                double[] exact = q != null ? reader.exactMatmul(name, q, x, o.batch()) : Float64Reference.matmulDense(dense, rows, cols, x, o.batch());
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
