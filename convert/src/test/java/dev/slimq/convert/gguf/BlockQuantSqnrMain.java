package dev.slimq.convert.gguf;

import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import dev.slimq.quantize.method.EasyQuant;
import dev.slimq.quantize.method.Hqq;
import dev.slimq.quantize.method.Quantizer;
import dev.slimq.quantize.method.Rtn;
import dev.slimq.quantize.method.Search;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Manual measurement (not a unit test; needs /work/shared): mean SQNR, in float64, of GGUF
 * Q4_0/Q4_1/Q8_0 blocks dequantized with {@link GgmlBlocks#decode} against the original weights, over
 * a checkpoint's encoder linear weights (names containing "encoder.layer", ending ".weight", rank 2),
 * for ggml's reference rule and each slimq method.
 *
 * <p>Run: {@code java -cp convert/target/classes:convert/target/test-classes:$CP
 * dev.slimq.convert.gguf.BlockQuantSqnrMain [MODEL_DIR] [types] [methods]}.
 */
public final class BlockQuantSqnrMain {
    public static void main(String[] args) {
        Path model = Path.of(args.length > 0 ? args[0] : "/work/shared/models/bge-small-en-v1.5");
        String[] types = (args.length > 1 ? args[1] : "q4_0,q4_1,q8_0").split(",");
        String[] methods = (args.length > 2 ? args[2] : "llama.cpp,rtn,search,easyquant,hqq").split(",");
        List<float[]> ws = new ArrayList<>();
        List<long[]> shapes = new ArrayList<>();
        List<String> names = new ArrayList<>();
        try (Checkpoint ck = Checkpoint.open(model)) {
            for (TensorInfo t : ck.tensors()) {
                if (t.name().contains("encoder.layer") && t.name().endsWith(".weight") && t.rank() == 2) {
                    float[] x = new float[Math.toIntExact(t.elementCount())];
                    try (TensorView v = ck.map(t.name())) {
                        v.readFloats(0, x, 0, x.length);
                    }
                    ws.add(x);
                    shapes.add(t.shape());
                    names.add(t.name());
                }
            }
        }
        System.out.printf(Locale.ROOT, "%d tensors%n", ws.size());
        for (String ty : types) {
            GgmlType type = GgmlType.fromName(ty).orElseThrow();
            for (String m : methods) {
                if (m.equals("best")) {
                    best(type, ws, shapes, names);
                    continue;
                }
                Quantizer q = method(m);
                long t0 = System.nanoTime();
                double[] sq = new double[ws.size()];
                java.util.stream.IntStream.range(0, ws.size()).parallel().forEach(i -> {
                    float[] x = ws.get(i);
                    int rows = (int) shapes.get(i)[0];
                    int cols = (int) shapes.get(i)[1];
                    try (Arena a = Arena.ofConfined()) {
                        MemorySegment seg = a.allocate(type.byteSize(x.length));
                        if (q == null) {
                            GgmlBlocks.encode(type, x, 0, x.length, seg, 0);
                        } else {
                            BlockQuant.encode(type, q, names.get(i), x, rows, cols, seg, 0);
                        }
                        float[] y = new float[x.length];
                        GgmlBlocks.decode(type, seg, 0, y, 0, y.length);
                        sq[i] = sqnr(x, y);
                    }
                });
                double mean = 0;
                for (double s : sq) {
                    mean += s;
                }
                mean /= sq.length;
                System.out.printf(Locale.ROOT, "%-5s %-10s mean SQNR %.3f dB  (%.1f s)%n", ty, m, mean, (System.nanoTime() - t0) / 1e9);
            }
        }
    }

    /** Per block, the lowest-error of the reference rule, search and easyquant (an upper bound check). */
    static void best(GgmlType type, List<float[]> ws, List<long[]> shapes, List<String> names) {
        double[] sq = new double[ws.size()];
        java.util.stream.IntStream.range(0, ws.size()).parallel().forEach(i -> {
            float[] x = ws.get(i);
            int rows = (int) shapes.get(i)[0];
            int cols = (int) shapes.get(i)[1];
            float[][] ys = new float[3][];
            try (Arena a = Arena.ofConfined()) {
                for (int k = 0; k < 3; k++) {
                    MemorySegment seg = a.allocate(type.byteSize(x.length));
                    if (k == 0) {
                        GgmlBlocks.encode(type, x, 0, x.length, seg, 0);
                    } else {
                        BlockQuant.encode(type, method(k == 1 ? "search" : "easyquant"), names.get(i), x, rows, cols, seg, 0);
                    }
                    ys[k] = new float[x.length];
                    GgmlBlocks.decode(type, seg, 0, ys[k], 0, x.length);
                }
            }
            float[] y = new float[x.length];
            for (int b = 0; b < x.length; b += 32) {
                int bestK = 0;
                double bestE = Double.MAX_VALUE;
                for (int k = 0; k < 3; k++) {
                    double e = 0;
                    for (int j = b; j < b + 32; j++) {
                        double d = (double) x[j] - ys[k][j];
                        e += d * d;
                    }
                    if (e < bestE) {
                        bestE = e;
                        bestK = k;
                    }
                }
                System.arraycopy(ys[bestK], b, y, b, 32);
            }
            sq[i] = sqnr(x, y);
        });
        double mean = java.util.Arrays.stream(sq).average().orElseThrow();
        System.out.printf(Locale.ROOT, "%-5s %-10s mean SQNR %.3f dB%n", type.cliName(), "best-of-3", mean);
    }

    static Quantizer method(String m) {
        return switch (m) {
            case "llama.cpp" -> null;
            case "rtn" -> new Rtn();
            case "search" -> new Search();
            case "easyquant" -> new EasyQuant().withOutliers(false);
            case "hqq" -> new Hqq();
            default -> throw new IllegalArgumentException(m);
        };
    }

    /** 10·log10(Σx² / Σ(x − y)²) in float64. */
    static double sqnr(float[] x, float[] y) {
        double s = 0;
        double e = 0;
        for (int i = 0; i < x.length; i++) {
            double d = (double) x[i] - y[i];
            s += (double) x[i] * x[i];
            e += d * d;
        }
        return 10 * Math.log10(s / e);
    }
}
