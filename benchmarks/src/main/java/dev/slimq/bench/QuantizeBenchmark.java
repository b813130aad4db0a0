package dev.slimq.bench;

import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.FloatCodec;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Issue 3's quantizer speed targets: one thread, a 4096×4096 matrix of bf16-sourced floats already in
 * memory, 4-bit, group 128, asymmetric, F16 scales; quantization only (no packing, no file I/O).
 * Reported per weight. Targets: rtn at most 1.0 ns, search and easyquant at most 10 ns.
 *
 * <p>The weights are heavy-tailed like trained layers: Student-t with 4 degrees of freedom, times 0.02
 * and a log-normal per-row factor, rounded to BF16, from a fixed seed.
 *
 * <p>The benchmarks module depends on core only, so the quantizers are looked up by name and called
 * through a method handle (the cost of one handle call per 16M weights is nothing); run with the
 * quantize module on the class path, as {@code scripts/bench-quantize.sh} does.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class QuantizeBenchmark {
    static final int ROWS = 4096;
    static final int COLS = 4096;

    @Param({"rtn", "search", "easyquant", "easyquant-range-only", "hqq"})
    public String method;

    @Param({"FLOAT"})
    public String zeros;

    private float[] w;
    private QuantScheme scheme;
    private MethodHandle quantize;

    @Setup(Level.Trial)
    public void setUp() throws Throwable {
        w = heavyTailed(42, ROWS, COLS);
        scheme = new QuantScheme(4, 128, false, ZeroMode.valueOf(zeros), DType.F16);
        String pkg = "dev.slimq.quantize.method.";
        Class<?> iface = Class.forName(pkg + "Quantizer");
        Object q = switch (method) {
            case "rtn" -> Class.forName(pkg + "Rtn").getConstructor().newInstance();
            case "search" -> Class.forName(pkg + "Search").getConstructor().newInstance();
            case "easyquant" -> Class.forName(pkg + "EasyQuant").getConstructor().newInstance();
            case "easyquant-range-only" -> Class.forName(pkg + "EasyQuant")
                    .getConstructor(double.class, double.class, boolean.class, int.class).newInstance(3.0, 0.01, false, 20);
            case "hqq" -> Class.forName(pkg + "Hqq").getConstructor().newInstance();
            default -> throw new IllegalArgumentException("unknown method " + method);
        };
        quantize = MethodHandles.publicLookup().findVirtual(iface, "quantize", MethodType.methodType(QuantizedTensor.class,
                String.class, float[].class, int.class, int.class, QuantScheme.class)).bindTo(q);
    }

    @Benchmark
    @OperationsPerInvocation(ROWS * COLS)
    public QuantizedTensor quantize() throws Throwable {
        return (QuantizedTensor) quantize.invokeExact("bench.weight", w, ROWS, COLS, scheme);
    }

    /** Student-t(4) × 0.02 × a per-row log-normal factor, rounded to BF16. */
    static float[] heavyTailed(long seed, int rows, int cols) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[rows * cols];
        for (int row = 0; row < rows; row++) {
            double rowScale = 0.02 * Math.exp(0.3 * r.nextGaussian());
            for (int c = 0; c < cols; c++) {
                double chi = 0;
                for (int k = 0; k < 4; k++) {
                    double t = r.nextGaussian();
                    chi += t * t;
                }
                float v = (float) (rowScale * r.nextGaussian() / Math.sqrt(chi / 4));
                w[row * cols + c] = Float.intBitsToFloat(FloatCodec.floatToBf16(v) << 16);
            }
        }
        return w;
    }
}
