package dev.slimq.quantize.format;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.safetensors.SafetensorsWriter.TensorSink;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.FloatCodec;
import dev.slimq.core.tensor.TensorInfo;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The quantized values expanded back to floats in the weight's original dtype, under the weight's
 * own name: a stock checkpoint any framework loads, for evaluating what quantization did. Every
 * scheme is representable; outlier residuals are folded into the floats ({@link #storesOutliers} is
 * true), so the output is exactly {@link QuantizedTensor#dequantizeRow} rounded once to that dtype.
 */
public final class DequantizedFormat implements QuantFormat {
    static final String NAME = "dequantized";
    private static final int FLOATS_PER_WRITE = 1 << 16;

    DequantizedFormat() {
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public ZeroMode zeroMode() {
        return ZeroMode.FLOAT;
    }

    @Override
    public boolean storesOutliers() {
        return true;
    }

    /** As slimq's, so a dequantized model evaluates what the native format would hold. */
    @Override
    public DType scaleDtype(DType modelDtype) {
        return DType.F16;
    }

    @Override
    public Optional<String> refusal(QuantScheme scheme, int rows, int cols, boolean outliers) {
        return WriteRules.groupRefusal(scheme, cols);
    }

    @Override
    public List<TensorInfo> plan(String weightName, int rows, int cols, QuantScheme scheme, int outlierCount, DType originalDtype) {
        WriteRules.require(this, scheme, rows, cols, outlierCount > 0);
        if (!FloatCodec.isEncodable(originalDtype)) {
            throw WriteRules.unsupported(weightName + " is " + originalDtype.wireName() + ", which floats cannot be written back into;"
                    + " use --format slimq");
        }
        return List.of(TensorInfo.planned(weightName, originalDtype, rows, cols));
    }

    @Override
    public void write(QuantizedTensor q, DType originalDtype, Function<String, TensorSink> open) {
        WriteRules.requireWritable(this, q);
        int cols = q.cols();
        int per = Math.max(1, FLOATS_PER_WRITE / cols);
        float[] buf = new float[Math.multiplyExact(Math.min(per, q.rows()), cols)];
        float[] row = new float[cols];
        try (SinkWriter w = new SinkWriter(open.apply(q.name()))) {
            for (int r0 = 0; r0 < q.rows(); r0 += per) {
                int n = Math.min(per, q.rows() - r0);
                for (int i = 0; i < n; i++) {
                    q.dequantizeRow(r0 + i, row);
                    System.arraycopy(row, 0, buf, i * cols, cols);
                }
                w.putFloats(buf, 0, n * cols);
            }
        }
    }

    /** A stock float checkpoint: no {@code quantization_config}. */
    @Override
    public ObjectNode updateConfig(ObjectNode config, QuantizationSummary summary) {
        return WriteRules.withQuantizationConfig(config, null);
    }
}
