package dev.slimq.quantize;

import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.safetensors.SafetensorsFile;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import dev.slimq.quantize.method.EasyQuant;
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
 * float64 and native bits per weight (total stored bits over total weights), per method and zero mode.
 * <pre>
 *   mvn -q -o -pl quantize test-compile
 *   java --add-modules jdk.incubator.vector -cp quantize/target/test-classes:quantize/target/classes:core/target/classes \
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
        for (String it : System.getProperty("eq.iters", "").split(",")) if (!it.isEmpty()) methods.put("eq it" + it, new EasyQuant(3, 0.01, true, Integer.parseInt(it)));
        System.out.printf("%-24s %-8s %10s %8s %9s %8s%n", "method", "zeros", "SQNR dB", "bpw", "outliers", "seconds");
        for (ZeroMode mode : ZeroMode.values()) {
            QuantScheme scheme = new QuantScheme(4, group, false, mode, DType.F16);
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
                System.out.printf("%-24s %-8s %10.3f %8.4f %8.3f%% %8.2f%n", m.getKey(), mode, sqnr / names.size(),
                        (double) bits / weightsTotal, 100.0 * outliers / weightsTotal, secs);
            }
        }
    }
}
