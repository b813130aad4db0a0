package dev.slimq.quantize.format;

import static dev.slimq.quantize.format.WriteRules.JSON;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.quant.Outliers;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.safetensors.SafetensorsWriter.TensorSink;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * slimq's native format: the logical form ({@link QuantizedTensor}) stored as it is, so everything
 * is representable (float zeros, outlier residuals, any group size per weight, 2/3/4/8 bits) and the
 * kernels read it without repacking. The byte-level specification is {@code slimq-format.md} (a
 * resource of this module, pasted into the README); in short, for a weight {@code W}:
 * <ul>
 *   <li>{@code W.qmeta} I32 {@code [6]}: format version (1), rows, cols, bits, group size, flags
 *       (1 symmetric, 2 float zeros, 4 outliers).</li>
 *   <li>{@code W.qcodes} U8 {@code [rows, ceil(cols * bits / 8)]}: each row's codes as a little-endian
 *       bit stream (4 bits: low nibble first; 3 bits: 8 codes in 3 bytes).</li>
 *   <li>{@code W.qscales} {@code [rows, groups]} in the scale dtype.</li>
 *   <li>{@code W.qzeros}: absent when symmetric; integer zeros U8 {@code [rows, ceil(groups * bits / 8)]}
 *       packed like codes; float zeros {@code [rows, groups]} in the scale dtype.</li>
 *   <li>With outliers: {@code W.outlier_rowptr} I32 {@code [rows + 1]}, {@code W.outlier_cols} U16
 *       (I32 when cols exceed 65,536) and {@code W.outlier_values} F16, each {@code [count]}.</li>
 * </ul>
 */
public final class SlimqFormat implements QuantFormat {
    static final String NAME = "slimq";
    static final int VERSION = 1;
    static final int FLAG_SYMMETRIC = 1;
    static final int FLAG_FLOAT_ZEROS = 2;
    static final int FLAG_OUTLIERS = 4;
    static final String META = ".qmeta";
    static final String CODES = ".qcodes";
    static final String SCALES = ".qscales";
    static final String ZEROS = ".qzeros";
    static final String ROW_PTR = ".outlier_rowptr";
    static final String COLS = ".outlier_cols";
    static final String VALUES = ".outlier_values";

    SlimqFormat() {
    }

    @Override
    public String name() {
        return NAME;
    }

    /** Float zeros: never less accurate than integer ones, and the kernels take either. */
    @Override
    public ZeroMode zeroMode() {
        return ZeroMode.FLOAT;
    }

    @Override
    public boolean storesOutliers() {
        return true;
    }

    /** F16, what the kernels load with {@code vload_half}. */
    @Override
    public DType scaleDtype(DType modelDtype) {
        return DType.F16;
    }

    @Override
    public Optional<String> refusal(QuantScheme scheme, int rows, int cols, boolean outliers) {
        return WriteRules.groupRefusal(scheme, cols);
    }

    /** Outlier column indices: U16 while every column index fits (DESIGN.md section 3). */
    static DType outlierColumnDtype(int cols) {
        return cols <= 65_536 ? DType.U16 : DType.I32;
    }

    @Override
    public List<TensorInfo> plan(String weightName, int rows, int cols, QuantScheme scheme, int outlierCount, DType originalDtype) {
        WriteRules.require(this, scheme, rows, cols, outlierCount > 0);
        int bits = scheme.bits();
        int groups = scheme.groupsPerRow(cols);
        List<TensorInfo> out = new ArrayList<>(7);
        out.add(TensorInfo.planned(weightName + META, DType.I32, 6));
        out.add(TensorInfo.planned(weightName + CODES, DType.U8, rows, BitPacking.streamBytes(cols, bits)));
        out.add(TensorInfo.planned(weightName + SCALES, scheme.scaleDtype(), rows, groups));
        if (!scheme.symmetric()) {
            out.add(scheme.zeroMode() == ZeroMode.INTEGER
                    ? TensorInfo.planned(weightName + ZEROS, DType.U8, rows, BitPacking.streamBytes(groups, bits))
                    : TensorInfo.planned(weightName + ZEROS, scheme.scaleDtype(), rows, groups));
        }
        if (outlierCount > 0) {
            out.add(TensorInfo.planned(weightName + ROW_PTR, DType.I32, rows + 1L));
            out.add(TensorInfo.planned(weightName + COLS, outlierColumnDtype(cols), outlierCount));
            out.add(TensorInfo.planned(weightName + VALUES, DType.F16, outlierCount));
        }
        return out;
    }

    static int flags(QuantScheme s, boolean outliers) {
        return (s.symmetric() ? FLAG_SYMMETRIC : 0) | (s.zeroMode() == ZeroMode.FLOAT ? FLAG_FLOAT_ZEROS : 0)
                | (outliers ? FLAG_OUTLIERS : 0);
    }

    @Override
    public void write(QuantizedTensor q, DType originalDtype, Function<String, TensorSink> open) {
        WriteRules.requireWritable(this, q);
        String w0 = q.name();
        QuantScheme s = q.scheme();
        int bits = s.bits();
        int rows = q.rows();
        int cols = q.cols();
        Outliers o = q.outliers();
        try (SinkWriter w = new SinkWriter(open.apply(w0 + META))) {
            for (int v : new int[] {VERSION, rows, cols, bits, s.groupSize(), flags(s, o.count() > 0)}) {
                w.putInt(v);
            }
        }
        byte[] codes = q.codes();
        byte[] row = new byte[BitPacking.streamBytes(cols, bits)];
        try (SinkWriter w = new SinkWriter(open.apply(w0 + CODES))) {
            for (int r = 0; r < rows; r++) {
                int n = BitPacking.packBytes(codes, r * cols, cols, bits, row, 0);
                w.putBytes(row, 0, n);
            }
        }
        try (SinkWriter w = new SinkWriter(open.apply(w0 + SCALES))) {
            w.putFloats(q.scales(), 0, q.scales().length);
        }
        if (!s.symmetric()) {
            try (SinkWriter w = new SinkWriter(open.apply(w0 + ZEROS))) {
                if (s.zeroMode() == ZeroMode.FLOAT) {
                    w.putFloats(q.zeros(), 0, q.zeros().length);
                } else {
                    int[] z = WriteRules.integerZeros(q, NAME);
                    int groups = q.groupsPerRow();
                    byte[] zr = new byte[groups];
                    byte[] packed = new byte[BitPacking.streamBytes(groups, bits)];
                    for (int r = 0; r < rows; r++) {
                        for (int g = 0; g < groups; g++) {
                            zr[g] = (byte) z[r * groups + g];
                        }
                        int n = BitPacking.packBytes(zr, 0, groups, bits, packed, 0);
                        w.putBytes(packed, 0, n);
                    }
                }
            }
        }
        if (o.count() > 0) {
            try (SinkWriter w = new SinkWriter(open.apply(w0 + ROW_PTR))) {
                w.putInts(o.rowPtr(), 0, o.rowPtr().length);
            }
            boolean narrow = outlierColumnDtype(cols) == DType.U16;
            try (SinkWriter w = new SinkWriter(open.apply(w0 + COLS))) {
                for (int c : o.colIdx()) {
                    if (narrow) {
                        w.putShort(c);
                    } else {
                        w.putInt(c);
                    }
                }
            }
            try (SinkWriter w = new SinkWriter(open.apply(w0 + VALUES))) {
                w.putFloats(o.residual(), 0, o.count());
            }
        }
    }

    /**
     * {@code {"quant_method": "slimq", "format_version": 1, "schemes": [...], "unquantized": [...]}}:
     * the distinct schemes (bits, group size or -1 per channel, symmetric, zero mode, scale dtype),
     * each with the weights using it. Informational and for detection: every weight's {@code .qmeta}
     * tensor describes it completely.
     */
    @Override
    public ObjectNode updateConfig(ObjectNode config, QuantizationSummary summary) {
        if (summary.quantized().isEmpty()) {
            throw WriteRules.unsupported(NAME + ": no quantized weights to describe");
        }
        Map<String, ObjectNode> schemes = new LinkedHashMap<>();
        for (QuantizationSummary.Entry e : summary.quantized()) {
            WriteRules.require(this, e.scheme(), e.rows(), e.cols(), false);
            QuantScheme s = e.scheme();
            ObjectNode n = JSON.objectNode();
            n.put("bits", s.bits());
            n.put("group_size", e.perChannel() ? -1 : s.groupSize());
            n.put("symmetric", s.symmetric());
            n.put("zero_mode", s.zeroMode() == ZeroMode.FLOAT ? "float" : "integer");
            n.put("scale_dtype", s.scaleDtype().wireName());
            ObjectNode scheme = schemes.computeIfAbsent(n.toString(), k -> {
                n.putArray("weights");
                return n;
            });
            ((ArrayNode) scheme.get("weights")).add(e.weight());
        }
        ObjectNode qc = JSON.objectNode();
        qc.put("quant_method", NAME);
        qc.put("format_version", VERSION);
        ArrayNode list = qc.putArray("schemes");
        schemes.values().forEach(list::add);
        ArrayNode un = qc.putArray("unquantized");
        summary.unquantized().forEach(un::add);
        return WriteRules.withQuantizationConfig(config, qc);
    }
}
