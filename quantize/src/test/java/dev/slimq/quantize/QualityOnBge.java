package dev.slimq.quantize;

import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.safetensors.SafetensorsFile;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import dev.slimq.quantize.method.EasyQuant;
import dev.slimq.quantize.method.FineQuant;
import dev.slimq.quantize.method.Hqq;
import dev.slimq.quantize.method.Quantizer;
import dev.slimq.quantize.method.Rtn;
import dev.slimq.quantize.method.Search;
import dev.slimq.quantize.quality.QualityMetrics;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Issue 3's quality target, run by hand (not a unit test: CI has no model files): every encoder linear
 * weight of bge-small-en-v1.5, 4-bit, group 128, asymmetric, F16 scales; mean SQNR over tensors in
 * float64 and native bits per weight (total stored bits over total weights), per method and zero mode
 * (float zeros, integer zeros, and symmetric for comparison).
 * Then finequant (τ = 0.10, each tensor alone, float zeros) over rtn and easyquant, next to rtn at
 * each fixed candidate group size, for issue 3's "above rtn's line" check. From the repository root:
 * <pre>
 *   mvn -q -o -pl quantize test-compile dependency:build-classpath -Dmdep.outputFile=target/qcp.txt
 *   java --add-modules jdk.incubator.vector \
 *       -cp "quantize/target/test-classes:quantize/target/classes:$(cat quantize/target/qcp.txt)" \
 *       dev.slimq.quantize.QualityOnBge [model.safetensors] [group]
 * </pre>
 */
public final class QualityOnBge {
    private QualityOnBge() {
    }

    public static void main(String[] args) {
        Path path = Path.of(args.length > 0 ? args[0] : "/work/shared/models/bge-small-en-v1.5/model.safetensors");
        int group = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        List<String> names = new ArrayList<>();
        List<float[]> weights = new ArrayList<>();
        List<int[]> shapes = new ArrayList<>();
        try (SafetensorsFile f = SafetensorsFile.open(path)) {
            for (TensorInfo t : f.tensors()) {
                if (t.name().contains("encoder.layer") && t.name().endsWith("weight") && t.shape().length == 2) {
                    int rows = Math.toIntExact(t.shape()[0]);
                    int cols = Math.toIntExact(t.shape()[1]);
                    float[] w = new float[rows * cols];
                    try (TensorView v = f.map(t.name())) {
                        v.readFloats(0, w, 0, w.length);
                    }
                    names.add(t.name());
                    weights.add(w);
                    shapes.add(new int[] {rows, cols});
                }
            }
        }
        System.out.printf("%d tensors from %s, 4-bit, group %d, asymmetric, F16 scales%n", names.size(), path, group);
        Map<String, Quantizer> methods = new LinkedHashMap<>();
        methods.put("rtn", new Rtn());
        methods.put("search", new Search());
        methods.put("easyquant (outliers)", new EasyQuant());
        methods.put("easyquant (range only)", new EasyQuant().withOutliers(false));
        methods.put("hqq", new Hqq());
        System.out.printf("%-24s %-9s %10s %8s %9s %8s%n", "method", "zeros", "SQNR dB", "bpw", "outliers", "seconds");
        List<QuantScheme> schemes = List.of(new QuantScheme(4, group, false, ZeroMode.FLOAT, DType.F16),
                new QuantScheme(4, group, false, ZeroMode.INTEGER, DType.F16), new QuantScheme(4, group, true, ZeroMode.INTEGER, DType.F16));
        for (QuantScheme scheme : schemes) {
            String mode = scheme.symmetric() ? "SYMMETRIC" : scheme.zeroMode().toString();
            for (var m : methods.entrySet()) {
                double sqnr = 0;
                long bits = 0;
                long weightsTotal = 0;
                long outliers = 0;
                long t0 = System.nanoTime();
                for (int i = 0; i < names.size(); i++) {
                    int[] s = shapes.get(i);
                    QuantizedTensor q = m.getValue().quantize(names.get(i), weights.get(i), s[0], s[1], scheme);
                    QualityMetrics qm = QualityMetrics.of(weights.get(i), q, 42);
                    sqnr += qm.sqnrDb();
                    bits += q.storageBits();
                    weightsTotal += (long) s[0] * s[1];
                    outliers += q.outliers().count();
                }
                double secs = (System.nanoTime() - t0) / 1e9;
                System.out.printf("%-24s %-9s %10.3f %8.4f %8.3f%% %8.2f%n", m.getKey(), mode, sqnr / names.size(),
                        (double) bits / weightsTotal, 100.0 * outliers / weightsTotal, secs);
            }
        }
        fineQuant(names, weights, shapes);
    }

    /** Rtn at each fixed group size (per-channel = -1), then finequant's choices over rtn and easyquant. */
    private static void fineQuant(List<String> names, List<float[]> weights, List<int[]> shapes) {
        QuantScheme base = new QuantScheme(4, 128, false, ZeroMode.FLOAT, DType.F16);
        System.out.printf("%nfinequant, float zeros, F16; each tensor alone%n%-30s %10s %8s  %s%n", "method", "SQNR dB", "bpw", "group sizes chosen");
        for (int g : new int[] {-1, 128, 64, 32}) {
            Point p = new Point();
            for (int i = 0; i < names.size(); i++) {
                int[] s = shapes.get(i);
                p.add(weights.get(i), new Rtn().quantize(names.get(i), weights.get(i), s[0], s[1], base.withGroupSize(g < 0 ? s[1] : g)));
            }
            p.print("rtn g" + (g < 0 ? "=row" : g), "");
        }
        for (Quantizer inner : List.of(new Rtn(), new EasyQuant())) {
            Point p = new Point();
            Map<String, Integer> chosen = new java.util.TreeMap<>();
            for (int i = 0; i < names.size(); i++) {
                int[] s = shapes.get(i);
                QuantScheme c = FineQuant.choose(weights.get(i), s[0], s[1], base, inner).scheme();
                chosen.merge(c.groupSize() == s[1] ? "row" : String.valueOf(c.groupSize()), 1, Integer::sum);
                p.add(weights.get(i), inner.quantize(names.get(i), weights.get(i), s[0], s[1], c));
            }
            p.print("finequant(" + inner.methodName() + ")", chosen.toString());
        }
    }

    /** Mean SQNR over tensors and total bits per weight. */
    private static final class Point {
        double sqnr;
        long bits;
        long weights;
        int n;

        void add(float[] w, QuantizedTensor q) {
            sqnr += QualityMetrics.of(w, q, 42).sqnrDb();
            bits += q.storageBits();
            weights += (long) q.rows() * q.cols();
            n++;
        }

        void print(String label, String note) {
            System.out.printf("%-30s %10.3f %8.4f  %s%n", label, sqnr / n, (double) bits / weights, note);
        }
    }
}
