package dev.slimq.quantize.format;

import static dev.slimq.quantize.format.WriteRules.JSON;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
 * compressed-tensors {@code pack-quantized}, what llm-compressor writes and vLLM and transformers load.
 *
 * <p>Per quantized module {@code M} (weight {@code M.weight}, {@code [rows, cols]}, {@code pf = 32 / bits}):
 * <ul>
 *   <li>{@code M.weight_packed} I32 {@code [rows, ceil(cols / pf)]}: row {@code r}'s codes, {@code pf} per
 *       word, code {@code c} at shift {@code bits * (c % pf)} of word {@code c / pf}, the last word
 *       zero-padded. The stored value is the unsigned code: compressed-tensors quantizes to signed
 *       {@code q} and packs {@code q + 2^(bits-1)}, which is slimq's code.</li>
 *   <li>{@code M.weight_scale} {@code [rows, groups]} ({@code [rows, 1]} per channel) in the scale dtype.</li>
 *   <li>{@code M.weight_zero_point} I32 {@code [ceil(rows / pf), groups]}, asymmetric only: zeros packed
 *       along the row dimension ({@code packed_dim=0}), the zero of row {@code r} at shift
 *       {@code bits * (r % pf)} of word row {@code r / pf}; stored unsigned like the codes.
 *       Symmetric schemes store no zero point (the zero is {@code 2^(bits-1)}).</li>
 *   <li>{@code M.weight_shape} I64 {@code [2]} = {@code [rows, cols]}.</li>
 * </ul>
 * Sources: vllm-project/compressed-tensors {@code src/compressed_tensors/compressors/quantized_compressors/pack_quantized.py}
 * ({@code pack_to_int32}: offset {@code 1 << (bits-1)}, {@code (reshaped << bit_shifts).sum}; zero point
 * {@code pack_to_int32(zp, bits, packed_dim=0)}; {@code weight_shape = torch.tensor(weight.shape)}, an
 * int64 tensor; {@code match_scheme} accepts num_bits 4 and 8) and {@code compressors/quantized_compressors/base.py}
 * ({@code _skip_zp}: no zero point saved when symmetric); vllm {@code compressed_tensors_wNa16.py}
 * ({@code weight_packed [out, in // pack_factor]}, {@code weight_scale} in {@code params_dtype},
 * {@code weight_shape} int64, zero point {@code [out // pack_factor, groups]} packed_dim 0,
 * {@code WNA16_SUPPORTED_TYPES_MAP = {4: uint4b8, 8: uint8b128}}, zero-point types {@code {4: uint4, 8: uint8}}).
 *
 * <p>Only 4 and 8 bits are written: compressed-tensors' own compressor and vLLM's WNA16 kernels accept no
 * others. Scales are stored in the scale dtype the quantizer used; {@link #scaleDtype} proposes the
 * model's dtype because vLLM converts {@code weight_scale} to it on load anyway.
 */
public final class CompressedTensorsFormat implements QuantFormat {
    static final String NAME = "compressed-tensors";

    CompressedTensorsFormat() {
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
        return modelDtype == DType.F16 || modelDtype == DType.BF16 || modelDtype == DType.F32 ? modelDtype : DType.BF16;
    }

    @Override
    public Optional<String> refusal(QuantScheme scheme, int rows, int cols, boolean outliers) {
        if (scheme.bits() != 4 && scheme.bits() != 8) {
            return Optional.of(NAME + " pack-quantized holds 4- or 8-bit codes (what compressed-tensors and vLLM's WNA16 kernels accept), not "
                    + scheme.bits() + "-bit; use --bits 4 or --bits 8, or --format gptq or slimq");
        }
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
        return Optional.empty();
    }

    @Override
    public List<TensorInfo> plan(String weightName, int rows, int cols, QuantScheme scheme, int outlierCount, DType originalDtype) {
        WriteRules.require(this, scheme, rows, cols, outlierCount > 0);
        String p = WriteRules.modulePrefix(NAME, weightName);
        int pf = BitPacking.perWord(scheme.bits());
        int groups = scheme.groupsPerRow(cols);
        List<TensorInfo> out = new ArrayList<>(4);
        out.add(TensorInfo.planned(p + "weight_packed", DType.I32, rows, ceilDiv(cols, pf)));
        out.add(TensorInfo.planned(p + "weight_scale", scheme.scaleDtype(), rows, groups));
        if (!scheme.symmetric()) {
            out.add(TensorInfo.planned(p + "weight_zero_point", DType.I32, ceilDiv(rows, pf), groups));
        }
        out.add(TensorInfo.planned(p + "weight_shape", DType.I64, 2));
        return out;
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    @Override
    public void write(QuantizedTensor q, DType originalDtype, Function<String, TensorSink> open) {
        WriteRules.requireWritable(this, q);
        String p = WriteRules.modulePrefix(NAME, q.name());
        int bits = q.scheme().bits();
        int pf = BitPacking.perWord(bits);
        int rows = q.rows();
        int cols = q.cols();
        byte[] codes = q.codes();
        int[] row = new int[ceilDiv(cols, pf)];
        try (SinkWriter w = new SinkWriter(open.apply(p + "weight_packed"))) {
            for (int r = 0; r < rows; r++) {
                // bits is 4 or 8, so the word fill of pack_to_int32 is the bit stream.
                w.putInts(row, 0, BitPacking.packWords(codes, r * cols, cols, bits, row, 0));
            }
        }
        try (SinkWriter w = new SinkWriter(open.apply(p + "weight_scale"))) {
            w.putFloats(q.scales(), 0, q.scales().length);
        }
        if (!q.scheme().symmetric()) {
            int[] z = WriteRules.integerZeros(q, NAME);
            int groups = q.groupsPerRow();
            int wordRows = ceilDiv(rows, pf);
            int[] packed = new int[wordRows * groups];
            byte[] column = new byte[rows];
            int[] words = new int[wordRows];
            for (int g = 0; g < groups; g++) {
                for (int r = 0; r < rows; r++) {
                    column[r] = (byte) z[r * groups + g];
                }
                BitPacking.packWords(column, 0, rows, bits, words, 0);
                for (int k = 0; k < wordRows; k++) {
                    packed[k * groups + g] = words[k];
                }
            }
            try (SinkWriter w = new SinkWriter(open.apply(p + "weight_zero_point"))) {
                w.putInts(packed, 0, packed.length);
            }
        }
        try (SinkWriter w = new SinkWriter(open.apply(p + "weight_shape"))) {
            w.putLong(rows);
            w.putLong(cols);
        }
    }

    /**
     * {@code quantization_config} as compressed-tensors' {@code QuantizationConfig} serializes it. One
     * scheme: one group targeting the class {@code "Linear"}, with every unquantized linear module in
     * {@code ignore}. Several schemes: one group each, targeting its modules by exact name (vLLM's
     * {@code find_matched_target} tries names before class names, and needs every shard of a fused
     * q/k/v or gate/up layer to match the same group, which slimq's policy guarantees). Argument
     * fields are the ones every compressed-tensors version knows ({@code QuantizationArgs} forbids extra
     * fields), in their declaration order.
     */
    @Override
    public ObjectNode updateConfig(ObjectNode config, QuantizationSummary summary) {
        if (summary.quantized().isEmpty()) {
            throw WriteRules.unsupported(NAME + ": no quantized weights to describe");
        }
        Map<String, List<String>> modulesByKey = new LinkedHashMap<>();
        Map<String, ObjectNode> argsByKey = new LinkedHashMap<>();
        for (QuantizationSummary.Entry e : summary.quantized()) {
            WriteRules.require(this, e.scheme(), e.rows(), e.cols(), false);
            ObjectNode args = weightArgs(e);
            String key = args.toString();
            argsByKey.putIfAbsent(key, args);
            modulesByKey.computeIfAbsent(key, k -> new ArrayList<>()).add(QuantizationSummary.moduleName(e.weight()));
        }
        ObjectNode groups = JSON.objectNode();
        int i = 0;
        for (Map.Entry<String, ObjectNode> g : argsByKey.entrySet()) {
            ObjectNode scheme = JSON.objectNode();
            ArrayNode targets = scheme.putArray("targets");
            if (argsByKey.size() == 1) {
                targets.add("Linear");
            } else {
                modulesByKey.get(g.getKey()).forEach(targets::add);
            }
            scheme.set("weights", g.getValue());
            scheme.putNull("input_activations");
            scheme.putNull("output_activations");
            groups.set("group_" + i++, scheme);
        }
        ObjectNode qc = JSON.objectNode();
        qc.put("quant_method", "compressed-tensors");
        qc.put("format", "pack-quantized");
        qc.put("quantization_status", "compressed");
        qc.set("config_groups", groups);
        ArrayNode ignore = qc.putArray("ignore");
        summary.unquantized().stream().map(QuantizationSummary::moduleName).forEach(ignore::add);
        qc.putNull("kv_cache_scheme");
        qc.putNull("global_compression_ratio");
        return WriteRules.withQuantizationConfig(config, qc);
    }

    /** {@code QuantizationArgs} of one weight; per-channel is strategy "channel" with no group size. */
    private static ObjectNode weightArgs(QuantizationSummary.Entry e) {
        ObjectNode a = JSON.objectNode();
        a.put("num_bits", e.scheme().bits());
        a.put("type", "int");
        a.put("symmetric", e.scheme().symmetric());
        if (e.perChannel()) {
            a.putNull("group_size");
            a.put("strategy", "channel");
        } else {
            a.put("group_size", e.scheme().groupSize());
            a.put("strategy", "group");
        }
        a.putNull("block_structure");
        a.put("dynamic", false);
        a.putNull("actorder");
        // Informational once compressed; "minmax" is a registered observer in every version.
        a.put("observer", "minmax");
        a.putObject("observer_kwargs");
        return a;
    }
}
