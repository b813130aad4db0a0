package dev.slimq.quantize.format;

import static dev.slimq.quantize.format.WriteRules.JSON;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.safetensors.SafetensorsWriter.TensorSink;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * GPTQ, as AutoGPTQ and GPTQModel save it and vLLM, transformers and exllama load it.
 *
 * <p>Per quantized module {@code M} (weight {@code [rows = out, cols = in]}, {@code groups = cols / groupSize}):
 * <ul>
 *   <li>{@code M.qweight} I32 {@code [cols * bits / 32, rows]}: column {@code n} holds output row
 *       {@code n}'s codes as a bit stream along the input dimension ({@link BitPacking}: code {@code i}
 *       at bits {@code [i*bits, (i+1)*bits)} of the words stacked down the column; 3 bits straddle).</li>
 *   <li>{@code M.qzeros} I32 {@code [groups, rows * bits / 32]}: row {@code g} holds the zeros of group
 *       {@code g} as a bit stream along the output dimension. {@code checkpoint_format "gptq"} (v1) stores
 *       {@code zero - 1} (loaders add 1 back, so symmetric 4-bit zeros 8 are stored as
 *       {@code 0x77777777}); {@code "gptq_v2"} stores the zero itself.</li>
 *   <li>{@code M.scales} F16 {@code [groups, rows]}.</li>
 *   <li>{@code M.g_idx} I32 {@code [cols]}: {@code c / groupSize} (no act-order).</li>
 * </ul>
 * Symmetric schemes are written as v1, readable by every GPTQ loader; asymmetric ones as v2, because
 * v1 cannot store a zero of 0 ({@code 0 - 1} wraps to {@code 2^bits - 1}). The whole checkpoint has one
 * {@code checkpoint_format}, so {@link #updateConfig} refuses a mix of the two.
 *
 * <p>Sources: AutoGPTQ/AutoGPTQ {@code auto_gptq/nn_modules/qlinear/qlinear_cuda_old.py} (buffer shapes
 * {@code qweight [in // 32 * bits, out]}, {@code qzeros [ceil(in / group), out // 32 * bits]},
 * {@code scales [ceil(in / group), out]} float16, {@code g_idx = i // group_size}; {@code pack}:
 * {@code zeros -= 1}, 2/3/4/8-bit packing; {@code forward}: {@code zeros + 1}); vllm
 * {@code model_executor/layers/quantization/utils/gptq_utils.py} (dynamic rules: {@code re.match} on the
 * module name, {@code "-:"} excludes a module); formats_ecosystem.md section 2 (v2 stores raw zeros:
 * AutoGPTQ PR #640, vLLM PR #26092 {@code use_v2_format}).
 */
public final class GptqFormat implements QuantFormat {
    static final String NAME = "gptq";
    /** Packed input rows per block when writing qweight: a multiple of 3, so 3-bit blocks hold whole 32-code units. */
    private static final int BLOCK_WORDS = 48;

    GptqFormat() {
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public ZeroMode zeroMode() {
        return ZeroMode.INTEGER;
    }

    @Override
    public boolean storesOutliers() {
        return false;
    }

    @Override
    public DType scaleDtype(DType modelDtype) {
        return DType.F16;
    }

    @Override
    public Optional<String> refusal(QuantScheme scheme, int rows, int cols, boolean outliers) {
        Optional<String> group = WriteRules.groupRefusal(scheme, cols);
        if (group.isPresent()) {
            return group;
        }
        if (!scheme.symmetric() && scheme.zeroMode() == ZeroMode.FLOAT) {
            return Optional.of(WriteRules.floatZeroRefusal(NAME));
        }
        if (outliers) {
            return Optional.of(WriteRules.outlierRefusal(NAME));
        }
        if (scheme.scaleDtype() != DType.F16) {
            return Optional.of(NAME + " stores scales as F16 but this scheme has " + scheme.scaleDtype().wireName()
                    + " scales; quantize with F16 scales (--scale-dtype f16), or use --format compressed-tensors or slimq");
        }
        int bits = scheme.bits();
        if ((long) cols * bits % 32 != 0) {
            return Optional.of(NAME + " packs codes into int32 words along the input dimension, so " + cols + " input features"
                    + " of " + bits + " bits must fill whole words (a multiple of " + (bits == 3 ? 32 : 32 / bits)
                    + "); use --format compressed-tensors or slimq");
        }
        if ((long) rows * bits % 32 != 0) {
            return Optional.of(NAME + " packs zeros into int32 words along the output dimension, so " + rows + " output features"
                    + " of " + bits + " bits must fill whole words (a multiple of " + (bits == 3 ? 32 : 32 / bits)
                    + "); use --format compressed-tensors or slimq");
        }
        return Optional.empty();
    }

    @Override
    public List<TensorInfo> plan(String weightName, int rows, int cols, QuantScheme scheme, int outlierCount, DType originalDtype) {
        WriteRules.require(this, scheme, rows, cols, outlierCount > 0);
        String p = WriteRules.modulePrefix(NAME, weightName);
        int bits = scheme.bits();
        int groups = scheme.groupsPerRow(cols);
        return List.of(
                TensorInfo.planned(p + "qweight", DType.I32, cols * bits / 32, rows),
                TensorInfo.planned(p + "qzeros", DType.I32, groups, rows * bits / 32),
                TensorInfo.planned(p + "scales", DType.F16, groups, rows),
                TensorInfo.planned(p + "g_idx", DType.I32, cols));
    }

    @Override
    public void write(QuantizedTensor q, DType originalDtype, Function<String, TensorSink> open) {
        WriteRules.requireWritable(this, q);
        String p = WriteRules.modulePrefix(NAME, q.name());
        int bits = q.scheme().bits();
        int rows = q.rows();
        int cols = q.cols();
        int groups = q.groupsPerRow();
        byte[] codes = q.codes();

        // qweight [K, rows]: output row k of the file is word k of every column, so columns are packed a
        // block of words at a time, reading each weight row's codes contiguously.
        int k = cols * bits / 32;
        int[] block = new int[BLOCK_WORDS * rows];
        int[] words = new int[BLOCK_WORDS];
        try (SinkWriter w = new SinkWriter(open.apply(p + "qweight"))) {
            for (int k0 = 0; k0 < k; k0 += BLOCK_WORDS) {
                int kb = Math.min(BLOCK_WORDS, k - k0);
                int first = k0 * 32 / bits;
                int count = kb * 32 / bits;
                for (int n = 0; n < rows; n++) {
                    BitPacking.packWords(codes, n * cols + first, count, bits, words, 0);
                    for (int j = 0; j < kb; j++) {
                        block[j * rows + n] = words[j];
                    }
                }
                w.putInts(block, 0, kb * rows);
            }
        }

        // qzeros [groups, rows * bits / 32]: v1 (symmetric) stores zero - 1, v2 the zero.
        int[] z = WriteRules.integerZeros(q, NAME);
        int offset = q.scheme().symmetric() ? 1 : 0;
        byte[] column = new byte[rows];
        int[] zw = new int[rows * bits / 32];
        try (SinkWriter w = new SinkWriter(open.apply(p + "qzeros"))) {
            for (int g = 0; g < groups; g++) {
                for (int r = 0; r < rows; r++) {
                    column[r] = (byte) (z[r * groups + g] - offset);
                }
                BitPacking.packWords(column, 0, rows, bits, zw, 0);
                w.putInts(zw, 0, zw.length);
            }
        }

        float[] s = q.scales();
        float[] line = new float[rows];
        try (SinkWriter w = new SinkWriter(open.apply(p + "scales"))) {
            for (int g = 0; g < groups; g++) {
                for (int r = 0; r < rows; r++) {
                    line[r] = s[r * groups + g];
                }
                w.putFloats(line, 0, rows);
            }
        }

        int gs = q.scheme().groupSize();
        try (SinkWriter w = new SinkWriter(open.apply(p + "g_idx"))) {
            for (int c = 0; c < cols; c++) {
                w.putInt(c / gs);
            }
        }
    }

    /**
     * {@code quantization_config} for one scheme: {@code bits}, {@code group_size} (-1 per channel),
     * {@code desc_act} false, {@code sym}, {@code checkpoint_format} ("gptq" symmetric, "gptq_v2"
     * asymmetric), {@code lm_head} (whether a module named lm_head is quantized), and {@code dynamic}
     * with one {@code "-:"} rule per unquantized linear module other than lm_head, so GPTQModel and vLLM
     * leave it in float. vLLM requires bits, group_size and desc_act ({@code GPTQConfig.from_config}).
     * Different schemes in one checkpoint are refused: vLLM applies {@code dynamic} rules to fused module
     * names (qkv_proj) that the checkpoint does not contain, so per-layer overrides are not portable.
     */
    @Override
    public ObjectNode updateConfig(ObjectNode config, QuantizationSummary summary) {
        List<QuantizationSummary.Entry> entries = summary.quantized();
        if (entries.isEmpty()) {
            throw WriteRules.unsupported(NAME + ": no quantized weights to describe");
        }
        QuantizationSummary.Entry first = entries.getFirst();
        Set<Integer> groupSizes = null;
        boolean lmHead = false;
        for (QuantizationSummary.Entry e : entries) {
            WriteRules.require(this, e.scheme(), e.rows(), e.cols(), false);
            if (e.scheme().bits() != first.scheme().bits() || e.scheme().symmetric() != first.scheme().symmetric()) {
                throw mixed(first, e);
            }
            // A per-channel weight is also "group_size = its columns"; the config needs one value for all.
            Set<Integer> candidates = e.perChannel() ? Set.of(-1, e.cols()) : Set.of(e.scheme().groupSize());
            if (groupSizes == null) {
                groupSizes = new HashSet<>(candidates);
            } else {
                groupSizes.retainAll(candidates);
            }
            if (groupSizes.isEmpty()) {
                throw mixed(first, e);
            }
            lmHead |= isLmHead(QuantizationSummary.moduleName(e.weight()));
        }
        int groupSize = groupSizes.contains(-1) ? -1 : groupSizes.iterator().next();
        boolean sym = first.scheme().symmetric();
        ObjectNode qc = JSON.objectNode();
        qc.put("quant_method", "gptq");
        qc.put("bits", first.scheme().bits());
        qc.put("group_size", groupSize);
        qc.put("desc_act", false);
        qc.put("sym", sym);
        qc.put("checkpoint_format", sym ? "gptq" : "gptq_v2");
        qc.put("lm_head", lmHead);
        ObjectNode dynamic = JSON.objectNode();
        for (String weight : summary.unquantized()) {
            String module = QuantizationSummary.moduleName(weight);
            if (!isLmHead(module)) {
                dynamic.putObject("-:^" + regexQuote(module) + "$");
            }
        }
        if (!dynamic.isEmpty()) {
            qc.set("dynamic", dynamic);
        }
        return WriteRules.withQuantizationConfig(config, qc);
    }

    private static boolean isLmHead(String module) {
        return module.equals("lm_head") || module.endsWith(".lm_head");
    }

    private static RuntimeException mixed(QuantizationSummary.Entry a, QuantizationSummary.Entry b) {
        return WriteRules.unsupported(NAME + "'s quantization_config holds one scheme for every layer, but " + a.weight() + " has "
                + describe(a) + " and " + b.weight() + " has " + describe(b)
                + "; use one --bits/--group-size/--symmetric for all layers, or --format compressed-tensors or slimq");
    }

    private static String describe(QuantizationSummary.Entry e) {
        return e.scheme().bits() + " bits, " + (e.perChannel() ? "per-channel" : "group " + e.scheme().groupSize())
                + (e.scheme().symmetric() ? ", symmetric" : ", asymmetric");
    }

    /**
     * A regex matching exactly {@code s} in Python's and Java's syntax: ASCII punctuation escaped (both
     * read {@code \.} as a literal), letters, digits and non-ASCII characters as they are (both reject
     * a backslash before a letter).
     */
    static String regexQuote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 128 && !(Character.isLetterOrDigit(c) || c == '_')) {
                b.append('\\');
            }
            b.append(c);
        }
        return b.toString();
    }
}
