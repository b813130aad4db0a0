package dev.slimq.bench;

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
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The runtime's batched linear layer ({@code dev.slimq.runtime.bert.LinearKernel}) on one thread, on
 * the prefill shapes of the built-in forward pass: 256 rows of {@code x} (one perplexity window) in
 * the 32-row pieces BertEncoder and LlamaDecoder hand it, times weights of the 1.1B Llama
 * ({@code in x out} = 2048x2048 q/o, 2048x5632 gate/up, 5632x2048 down) and of bge-small (384x384,
 * 384x1536, 1536x384). Reported in milliseconds per 256 rows; GFLOP/s = 2 * 256 * in * out / time,
 * to set against {@code scripts/runtime/FmaPeak.java 1} (one core's peak).
 *
 * <p>The benchmarks module depends on core only, so the kernel is looked up by name and called through
 * a method handle (one handle call per 32-row piece is nothing next to the piece's work); run with the
 * runtime jar on the class path:
 * <pre>
 * mvn -q -DskipTests -pl core,runtime,benchmarks -am package
 * java -cp "benchmarks/target/slimq-benchmarks-0.1.0-SNAPSHOT.jar:benchmarks/target/lib/*:runtime/target/slimq-runtime-0.1.0-SNAPSHOT.jar" \
 *   org.openjdk.jmh.Main LinearKernelBenchmark -p kernel=VECTOR
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
public class LinearKernelBenchmark {
    static final int ROWS = 256;
    /** Rows per call, as BertEncoder and LlamaDecoder split their linears. */
    static final int PIECE = 32;

    /** {@code in x out}. */
    @Param({"2048x2048", "2048x5632", "5632x2048", "384x384", "384x1536", "1536x384"})
    public String shape;

    @Param({"VECTOR"})
    public String kernel;

    private int in;
    private int out;
    private float[] x;
    private float[] w;
    private float[] b;
    private float[] y;
    private MethodHandle apply;

    @Setup(Level.Trial)
    public void setUp() throws Throwable {
        String[] parts = shape.split("x");
        in = Integer.parseInt(parts[0]);
        out = Integer.parseInt(parts[1]);
        SplittableRandom r = new SplittableRandom(7);
        x = gaussians(r, ROWS * in, 1);
        w = gaussians(r, out * in, 0.02);
        b = gaussians(r, out, 0.02);
        y = new float[ROWS * out];
        Class<?> type = Class.forName("dev.slimq.runtime.bert.LinearKernel");
        Object k = type.getField(kernel).get(null); // an enum constant is a public static field
        apply = MethodHandles.publicLookup().findVirtual(type, "apply", MethodType.methodType(void.class,
                float[].class, float[].class, float[].class, float[].class, int.class, int.class, int.class, int.class))
                .bindTo(k);
    }

    @Benchmark
    public float[] prefill() throws Throwable {
        for (int r0 = 0; r0 < ROWS; r0 += PIECE) {
            apply.invokeExact(x, w, b, y, in, out, r0, Math.min(ROWS, r0 + PIECE));
        }
        return y;
    }

    private static float[] gaussians(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (scale * r.nextGaussian());
        }
        return a;
    }
}
