package dev.slimq.quantize.format;

import static dev.slimq.quantize.format.SlimqFormat.CODES;
import static dev.slimq.quantize.format.SlimqFormat.COLS;
import static dev.slimq.quantize.format.SlimqFormat.META;
import static dev.slimq.quantize.format.SlimqFormat.ROW_PTR;
import static dev.slimq.quantize.format.SlimqFormat.SCALES;
import static dev.slimq.quantize.format.SlimqFormat.VALUES;
import static dev.slimq.quantize.format.SlimqFormat.ZEROS;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.quant.Outliers;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads slimq-format weights ({@code slimq-format.md}): every weight {@code W} with a {@code W.qmeta}
 * tensor, which describes it completely, so no config is needed. Every field is checked: version,
 * bits, group size, flags, each tensor's dtype and shape, and the outlier CSR structure (row pointers
 * from 0 to the count, never decreasing; columns ascending within a row and inside the matrix).
 */
public final class SlimqReader implements QuantizedCheckpointReader {
    private static final Set<DType> SCALE_DTYPES = Set.of(DType.F16, DType.BF16, DType.F32);

    private final Checkpoint ckpt;
    private final List<String> weights;
    private final Set<String> storage;

    private SlimqReader(Checkpoint ckpt, List<String> weights, Set<String> storage) {
        this.ckpt = ckpt;
        this.weights = weights;
        this.storage = storage;
    }

    static SlimqReader open(Checkpoint ckpt, JsonNode qc) {
        if (qc != null && qc.path("format_version").asInt(SlimqFormat.VERSION) > SlimqFormat.VERSION) {
            throw TensorData.unsupported("slimq format version " + qc.path("format_version").asInt()
                    + " is newer than this slimq reads (" + SlimqFormat.VERSION + ")");
        }
        TreeSet<String> weights = new TreeSet<>();
        Set<String> storage = new TreeSet<>();
        for (TensorInfo t : ckpt.tensors()) {
            if (t.name().endsWith(META)) {
                String w = t.name().substring(0, t.name().length() - META.length());
                weights.add(w);
                for (String part : List.of(META, CODES, SCALES, ZEROS, ROW_PTR, COLS, VALUES)) {
                    if (ckpt.contains(w + part)) {
                        storage.add(w + part);
                    }
                }
            }
        }
        return new SlimqReader(ckpt, List.copyOf(weights), Collections.unmodifiableSet(storage));
    }

    @Override
    public QuantFormat format() {
        return QuantFormat.SLIMQ;
    }

    @Override
    public List<String> weights() {
        return weights;
    }

    @Override
    public long[] shape(String weight) {
        Meta m = meta(weight);
        return new long[] {m.rows(), m.cols()};
    }

    @Override
    public Set<String> storageTensors() {
        return storage;
    }

    @Override
    public QuantizedTensor read(String weight) {
        return unpack(weight).toQuantized();
    }

    @Override
    public float[] dequantize(String weight) {
        return unpack(weight).dequantize();
    }

    private record Meta(int rows, int cols, int bits, int groupSize, int flags) {
        boolean has(int flag) {
            return (flags & flag) != 0;
        }
    }

    private Meta meta(String weight) {
        if (Collections.binarySearch(weights, weight) < 0) {
            throw TensorData.bad("'" + weight + "' is not a quantized weight of this checkpoint");
        }
        String name = weight + META;
        int[] m = TensorData.ints(ckpt, TensorData.expect(ckpt, name, Set.of(DType.I32), 6));
        if (m[0] != SlimqFormat.VERSION) {
            throw TensorData.unsupported(name + ": slimq format version " + m[0] + "; this slimq reads version " + SlimqFormat.VERSION);
        }
        Meta meta = new Meta(m[1], m[2], m[3], m[4], m[5]);
        int known = SlimqFormat.FLAG_SYMMETRIC | SlimqFormat.FLAG_FLOAT_ZEROS | SlimqFormat.FLAG_OUTLIERS;
        if (meta.rows() < 1 || meta.cols() < 1) {
            throw TensorData.bad(name + ": shape [" + meta.rows() + ", " + meta.cols() + "]");
        }
        if (meta.bits() != 2 && meta.bits() != 3 && meta.bits() != 4 && meta.bits() != 8) {
            throw TensorData.bad(name + ": " + meta.bits() + " bits (2, 3, 4 or 8)");
        }
        if (meta.groupSize() < 1 || meta.cols() % meta.groupSize() != 0) {
            throw TensorData.bad(name + ": group size " + meta.groupSize() + " does not divide " + meta.cols() + " columns");
        }
        if ((meta.flags() & ~known) != 0 || meta.has(SlimqFormat.FLAG_SYMMETRIC) && meta.has(SlimqFormat.FLAG_FLOAT_ZEROS)) {
            throw TensorData.bad(name + ": invalid flags " + meta.flags());
        }
        return meta;
    }

    private UnpackedWeight unpack(String w) {
        Meta m = meta(w);
        int rows = m.rows();
        int cols = m.cols();
        int bits = m.bits();
        int groups = cols / m.groupSize();
        long n = (long) rows * cols;
        if (n > Integer.MAX_VALUE - 8) {
            throw TensorData.unsupported(w + ": " + n + " weights are more than one array holds");
        }
        int rowBytes = BitPacking.streamBytes(cols, bits);
        byte[] packed = TensorData.bytes(ckpt, TensorData.expect(ckpt, w + CODES, Set.of(DType.U8), rows, rowBytes));
        byte[] codes = new byte[(int) n];
        for (int r = 0; r < rows; r++) {
            BitPacking.unpackBytes(packed, r * rowBytes, cols, bits, codes, r * cols);
        }
        TensorInfo si = TensorData.info(ckpt, w + SCALES);
        if (!SCALE_DTYPES.contains(si.dtype())) {
            throw TensorData.bad(si.name() + " is " + si.dtype().wireName() + ", expected F16, BF16 or F32");
        }
        float[] scales = TensorData.floats(ckpt, TensorData.expect(ckpt, si.name(), SCALE_DTYPES, rows, groups));
        float[] zeros = new float[rows * groups];
        boolean sym = m.has(SlimqFormat.FLAG_SYMMETRIC);
        boolean floatZeros = m.has(SlimqFormat.FLAG_FLOAT_ZEROS);
        if (sym) {
            if (ckpt.contains(w + ZEROS)) {
                throw TensorData.bad(w + ZEROS + " is present but " + w + META + " says symmetric");
            }
            Arrays.fill(zeros, 1 << (bits - 1));
        } else if (floatZeros) {
            zeros = TensorData.floats(ckpt, TensorData.expect(ckpt, w + ZEROS, Set.of(si.dtype()), rows, groups));
        } else {
            int zb = BitPacking.streamBytes(groups, bits);
            byte[] zp = TensorData.bytes(ckpt, TensorData.expect(ckpt, w + ZEROS, Set.of(DType.U8), rows, zb));
            byte[] z = new byte[groups];
            for (int r = 0; r < rows; r++) {
                BitPacking.unpackBytes(zp, r * zb, groups, bits, z, 0);
                for (int g = 0; g < groups; g++) {
                    zeros[r * groups + g] = z[g] & 0xFF;
                }
            }
        }
        Outliers outliers = m.has(SlimqFormat.FLAG_OUTLIERS) ? outliers(w, rows, cols) : null;
        return new UnpackedWeight(w, rows, cols, bits, codes, groups, scales, zeros, null, sym, floatZeros, si.dtype(), outliers);
    }

    private Outliers outliers(String w, int rows, int cols) {
        int[] rowPtr = TensorData.ints(ckpt, TensorData.expect(ckpt, w + ROW_PTR, Set.of(DType.I32), rows + 1L));
        int count = rowPtr[rows];
        if (rowPtr[0] != 0 || count < 0) {
            throw TensorData.bad(w + ROW_PTR + " must run from 0 to the outlier count");
        }
        for (int r = 0; r < rows; r++) {
            if (rowPtr[r + 1] < rowPtr[r] || rowPtr[r + 1] > count) {
                throw TensorData.bad(w + ROW_PTR + " decreases or passes the outlier count at row " + r);
            }
        }
        DType colType = SlimqFormat.outlierColumnDtype(cols);
        long[] c = TensorData.integers(ckpt, TensorData.expect(ckpt, w + COLS, Set.of(colType), count));
        float[] values = TensorData.floats(ckpt, TensorData.expect(ckpt, w + VALUES, Set.of(DType.F16), count));
        int[] colIdx = new int[count];
        for (int k = 0; k < count; k++) {
            if (c[k] < 0 || c[k] >= cols) {
                throw TensorData.bad(w + COLS + "[" + k + "] = " + c[k] + " is outside the " + cols + " columns");
            }
            colIdx[k] = (int) c[k];
        }
        try {
            return new Outliers(rowPtr, colIdx, values);
        } catch (IllegalArgumentException e) {
            throw TensorData.bad(w + ROW_PTR + ": " + e.getMessage());
        }
    }
}
