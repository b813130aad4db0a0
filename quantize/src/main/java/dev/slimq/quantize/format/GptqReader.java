package dev.slimq.quantize.format;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Reads GPTQ checkpoints as AutoGPTQ, GPTQModel and slimq write them: the layout of
 * {@link GptqFormat} for 2, 3, 4 and 8 bits, {@code checkpoint_format} {@code "gptq"} (v1: stored zero
 * plus one, the default when the field is absent) or {@code "gptq_v2"} (stored zero), per-module
 * {@code bits}, {@code group_size} and {@code sym} overrides from GPTQModel's {@code dynamic} rules
 * (first rule whose regex {@code re.match}es the module name wins, {@code "-:"} rules exclude), and any
 * {@code g_idx}, act-order included, for {@link #dequantize}.
 *
 * <p>The number of input features is the length of {@code g_idx} (or {@code qweight} rows times
 * {@code 32 / bits} without one); the groups are the rows of {@code scales}. A v1 zero stored as
 * {@code 2^bits - 1} means {@code 2^bits}, as every v1 loader computes it ({@code zeros + 1} in
 * AutoGPTQ's {@code qlinear_cuda_old.py} forward); the logical form keeps that value.
 * Other packings ({@code checkpoint_format} marlin or bitblas, GPTQModel {@code pack_dtype} other than
 * int32) are UNSUPPORTED.
 */
public final class GptqReader implements QuantizedCheckpointReader {
    private static final Set<DType> SCALE_DTYPES = Set.of(DType.F16, DType.BF16, DType.F32);

    private record Args(int bits, int groupSize, boolean symmetric) {
    }

    private record Rule(boolean exclude, Pattern pattern, JsonNode overrides) {
    }

    private final Checkpoint ckpt;
    private final boolean v2;
    private final Map<String, Args> byWeight;
    private final Set<String> storage;

    private GptqReader(Checkpoint ckpt, boolean v2, Map<String, Args> byWeight, Set<String> storage) {
        this.ckpt = ckpt;
        this.v2 = v2;
        this.byWeight = byWeight;
        this.storage = storage;
    }

    static GptqReader open(Checkpoint ckpt, JsonNode qc) {
        String cf = qc.path("checkpoint_format").asText("");
        if (qc.path("is_marlin_format").asBoolean(false)) {
            cf = "marlin";
        }
        boolean v2 = switch (cf) {
            case "", "gptq" -> false;
            case "gptq_v2" -> true;
            default -> throw TensorData.unsupported("GPTQ checkpoint_format '" + cf + "' is not supported; slimq reads gptq and gptq_v2");
        };
        String packDtype = qc.path("pack_dtype").asText("int32");
        if (!packDtype.equals("int32")) {
            throw TensorData.unsupported("GPTQ pack_dtype '" + packDtype + "' is not supported; slimq reads int32 packing");
        }
        if (!qc.path("bits").canConvertToInt() || !qc.path("group_size").canConvertToInt()) {
            throw TensorData.bad("GPTQ quantization_config needs integer 'bits' and 'group_size'");
        }
        Args base = new Args(qc.get("bits").asInt(), qc.get("group_size").asInt(), qc.path("sym").asBoolean(true));
        List<Rule> rules = new ArrayList<>();
        JsonNode dynamic = qc.get("dynamic");
        if (dynamic != null && dynamic.isObject()) {
            for (Map.Entry<String, JsonNode> e : dynamic.properties()) {
                String key = e.getKey();
                boolean exclude = key.startsWith("-:");
                String regex = exclude || key.startsWith("+:") ? key.substring(2) : key;
                try {
                    rules.add(new Rule(exclude, Pattern.compile(regex), e.getValue()));
                } catch (PatternSyntaxException ex) {
                    throw TensorData.bad("GPTQ dynamic rule '" + key + "' is not a valid regex: " + ex.getDescription());
                }
            }
        }
        Map<String, Args> byWeight = new TreeMap<>();
        Set<String> storage = new TreeSet<>();
        for (TensorInfo t : ckpt.tensors()) {
            if (!t.name().endsWith(".qweight")) {
                continue;
            }
            String module = t.name().substring(0, t.name().length() - ".qweight".length());
            Args a = argsFor(module, base, rules);
            if (a.bits() < 2 || a.bits() > 8) {
                throw TensorData.unsupported(module + ": GPTQ with " + a.bits() + " bits is not supported");
            }
            if (a.groupSize() == 0 || a.groupSize() < -1) {
                throw TensorData.bad(module + ": GPTQ group_size " + a.groupSize() + " is neither -1 nor positive");
            }
            byWeight.put(module + ".weight", a);
            for (String part : List.of("qweight", "qzeros", "scales", "g_idx")) {
                if (ckpt.contains(module + "." + part)) {
                    storage.add(module + "." + part);
                }
            }
        }
        return new GptqReader(ckpt, v2, Collections.unmodifiableMap(byWeight), Collections.unmodifiableSet(storage));
    }

    private static Args argsFor(String module, Args base, List<Rule> rules) {
        for (Rule r : rules) {
            if (r.pattern().matcher(module).lookingAt()) {
                if (r.exclude()) {
                    throw TensorData.bad(module + ".qweight: the module is quantized but a dynamic '-:' rule excludes it");
                }
                JsonNode o = r.overrides();
                return new Args(o.path("bits").asInt(base.bits()), o.path("group_size").asInt(base.groupSize()),
                        o.path("sym").asBoolean(base.symmetric()));
            }
        }
        return base;
    }

    /** True for {@code checkpoint_format "gptq_v2"} (zeros stored as they are). */
    public boolean v2() {
        return v2;
    }

    @Override
    public QuantFormat format() {
        return QuantFormat.GPTQ;
    }

    @Override
    public List<String> weights() {
        return List.copyOf(byWeight.keySet());
    }

    @Override
    public long[] shape(String weight) {
        Layout l = layout(weight);
        return new long[] {l.rows(), l.cols()};
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

    /** Shapes of one module's tensors, checked against each other. */
    private record Layout(String module, Args args, int rows, int cols, int packedRows, int groups, TensorInfo scales) {
    }

    private Layout layout(String weight) {
        Args a = byWeight.get(weight);
        if (a == null) {
            throw TensorData.bad("'" + weight + "' is not a quantized weight of this checkpoint");
        }
        String m = QuantizationSummary.moduleName(weight);
        TensorInfo qw = TensorData.info(ckpt, m + ".qweight");
        if (qw.dtype() != DType.I32 || qw.rank() != 2) {
            throw TensorData.bad(qw.name() + " is " + qw.dtype().wireName() + qw.shapeString() + ", expected a 2-D I32 tensor");
        }
        int packedRows = TensorData.dim(qw, 0);
        int rows = TensorData.dim(qw, 1);
        long packedBits = 32L * packedRows;
        int cols;
        if (ckpt.contains(m + ".g_idx")) {
            TensorInfo gi = TensorData.info(ckpt, m + ".g_idx");
            if (gi.rank() != 1) {
                throw TensorData.bad(gi.name() + " has shape " + gi.shapeString() + ", expected [in_features]");
            }
            cols = TensorData.dim(gi, 0);
            if ((long) cols * a.bits() != packedBits) {
                throw TensorData.bad(qw.name() + " has " + packedRows + " packed rows, but " + cols + " input features of "
                        + a.bits() + " bits need " + ((long) cols * a.bits() / 32.0));
            }
        } else {
            if (packedBits % a.bits() != 0) {
                throw TensorData.bad(qw.name() + ": " + packedRows + " packed rows do not hold whole " + a.bits() + "-bit codes");
            }
            cols = Math.toIntExact(packedBits / a.bits());
        }
        TensorInfo sc = TensorData.info(ckpt, m + ".scales");
        if (!SCALE_DTYPES.contains(sc.dtype())) {
            throw TensorData.unsupported(sc.name() + " is " + sc.dtype().wireName() + "; slimq reads F16, BF16 and F32 scales");
        }
        if (sc.rank() != 2 || sc.dim(1) != rows || sc.dim(0) < 1) {
            throw TensorData.bad(sc.name() + " has shape " + sc.shapeString() + ", expected [groups, " + rows + "]");
        }
        if (rows < 1 || cols < 1) {
            throw TensorData.bad(qw.name() + " describes an empty matrix");
        }
        return new Layout(m, a, rows, cols, packedRows, TensorData.dim(sc, 0), sc);
    }

    private UnpackedWeight unpack(String weight) {
        Layout l = layout(weight);
        String m = l.module();
        int bits = l.args().bits();
        int rows = l.rows();
        int cols = l.cols();
        int groups = l.groups();
        if ((long) rows * bits % 32 != 0) {
            throw TensorData.bad(m + ".qzeros: " + rows + " output features of " + bits + " bits do not fill whole words");
        }
        int zWords = rows * bits / 32;
        int[] qw = TensorData.ints(ckpt, TensorData.info(ckpt, m + ".qweight"));
        int[] qz = TensorData.ints(ckpt, TensorData.expect(ckpt, m + ".qzeros", Set.of(DType.I32), groups, zWords));
        float[] s = TensorData.floats(ckpt, l.scales());

        byte[] codes = new byte[Math.multiplyExact(rows, cols)];
        int[] column = new int[l.packedRows()];
        for (int n = 0; n < rows; n++) {
            for (int k = 0; k < column.length; k++) {
                column[k] = qw[k * rows + n];
            }
            BitPacking.unpackWords(column, 0, cols, bits, codes, n * cols);
        }
        float[] scales = new float[rows * groups];
        float[] zeros = new float[rows * groups];
        byte[] z = new byte[rows];
        int add = v2 ? 0 : 1;
        for (int g = 0; g < groups; g++) {
            BitPacking.unpackWords(qz, g * zWords, rows, bits, z, 0);
            for (int n = 0; n < rows; n++) {
                zeros[n * groups + g] = (z[n] & 0xFF) + add;
                scales[n * groups + g] = s[g * rows + n];
            }
        }

        int[] gIdx = null;
        if (ckpt.contains(m + ".g_idx")) {
            gIdx = TensorData.ints(ckpt, TensorData.expect(ckpt, m + ".g_idx", Set.of(DType.I32), cols));
        } else {
            int gs = l.args().groupSize() == -1 ? cols : l.args().groupSize();
            if (groups != (cols + gs - 1) / gs) {
                throw TensorData.bad(m + ".scales has " + groups + " groups, but group size " + gs + " over " + cols + " columns makes "
                        + ((cols + gs - 1) / gs));
            }
            if (cols % gs != 0) {
                gIdx = new int[cols];
                for (int c = 0; c < cols; c++) {
                    gIdx[c] = c / gs;
                }
            }
        }
        return new UnpackedWeight(weight, rows, cols, bits, codes, groups, scales, zeros, gIdx, l.args().symmetric(), false,
                l.scales().dtype(), null);
    }
}
