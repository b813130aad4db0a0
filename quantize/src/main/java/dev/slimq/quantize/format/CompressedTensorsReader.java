package dev.slimq.quantize.format;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Reads compressed-tensors {@code pack-quantized} checkpoints (llm-compressor's output, or slimq's):
 * the layout of {@link CompressedTensorsFormat}, for any {@code num_bits} up to 8 ({@code 32 / bits}
 * codes per word, high bits unused when bits does not divide 32), strategies group, channel and tensor,
 * symmetric or not, zero points packed ({@code I32}, current) or not ({@code I8} signed, older versions),
 * and act-order {@code weight_g_idx}.
 *
 * <p>A module's scheme comes from the config group whose {@code targets} name it (exactly, or by a
 * {@code "re:"} regex matched at the start of the name as Python's {@code re.match} does), else from a
 * group targeting a class name (a target starting with an upper-case letter, such as {@code "Linear"}):
 * vLLM's {@code find_matched_target} order (vllm {@code compressed_tensors/utils.py}). Formats other than
 * pack-quantized, float weights, block or token strategies, sparsity and transforms are UNSUPPORTED.
 */
public final class CompressedTensorsReader implements QuantizedCheckpointReader {
    private static final Set<DType> SCALE_DTYPES = Set.of(DType.F16, DType.BF16, DType.F32);

    private record Args(int bits, boolean symmetric, String strategy, int groupSize) {
    }

    private record Group(String name, List<String> targets, Args args) {
    }

    private final Checkpoint ckpt;
    private final Map<String, Args> byWeight;
    private final Set<String> storage;

    private CompressedTensorsReader(Checkpoint ckpt, Map<String, Args> byWeight, Set<String> storage) {
        this.ckpt = ckpt;
        this.byWeight = byWeight;
        this.storage = storage;
    }

    static CompressedTensorsReader open(Checkpoint ckpt, JsonNode qc) {
        JsonNode transforms = qc.get("transform_config");
        if (transforms != null && transforms.isObject() && !transforms.isEmpty()) {
            throw TensorData.unsupported("compressed-tensors checkpoint with a transform_config (rotations) is not supported");
        }
        JsonNode sparsity = qc.get("sparsity_config");
        if (sparsity != null && sparsity.isObject() && !sparsity.isEmpty() && !"dense".equals(sparsity.path("format").asText("dense"))) {
            throw TensorData.unsupported("compressed-tensors checkpoint with sparsity format '" + sparsity.path("format").asText() + "' is not supported");
        }
        String topFormat = qc.path("format").asText("");
        JsonNode groupsNode = qc.get("config_groups");
        if (groupsNode == null || !groupsNode.isObject()) {
            throw TensorData.bad("config.json: compressed-tensors quantization_config has no config_groups object");
        }
        List<Group> groups = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : groupsNode.properties()) {
            groups.add(parseGroup(e.getKey(), e.getValue(), topFormat));
        }
        Map<String, Args> byWeight = new TreeMap<>();
        Set<String> storage = new TreeSet<>();
        for (TensorInfo t : ckpt.tensors()) {
            if (!t.name().endsWith(".weight_packed")) {
                continue;
            }
            String module = t.name().substring(0, t.name().length() - ".weight_packed".length());
            byWeight.put(module + ".weight", argsFor(module, groups));
            for (String part : List.of("weight_packed", "weight_scale", "weight_zero_point", "weight_shape", "weight_g_idx")) {
                if (ckpt.contains(module + "." + part)) {
                    storage.add(module + "." + part);
                }
            }
        }
        return new CompressedTensorsReader(ckpt, Collections.unmodifiableMap(byWeight), Collections.unmodifiableSet(storage));
    }

    private static Group parseGroup(String name, JsonNode g, String topFormat) {
        if (!g.isObject()) {
            throw TensorData.bad("config.json: config group '" + name + "' is not an object");
        }
        List<String> targets = new ArrayList<>();
        for (JsonNode t : g.path("targets")) {
            targets.add(t.asText());
        }
        JsonNode w = g.get("weights");
        if (w == null || w.isNull()) {
            return new Group(name, targets, null);
        }
        String format = g.hasNonNull("format") ? g.get("format").asText() : topFormat;
        if (!"pack-quantized".equals(format)) {
            throw TensorData.unsupported("compressed-tensors format '" + format + "' (config group '" + name
                    + "') is not supported; slimq reads pack-quantized");
        }
        String type = w.path("type").asText("int");
        if (!type.equals("int")) {
            throw TensorData.unsupported("compressed-tensors config group '" + name + "' quantizes weights to type '" + type
                    + "'; slimq reads integer weights");
        }
        int bits = w.path("num_bits").asInt(8);
        if (bits < 1 || bits > 8) {
            throw TensorData.unsupported("compressed-tensors config group '" + name + "' has num_bits " + bits + "; pack-quantized holds 1 to 8");
        }
        boolean symmetric = w.path("symmetric").asBoolean(true);
        int groupSize = w.hasNonNull("group_size") ? w.get("group_size").asInt() : 0;
        String strategy = w.hasNonNull("strategy") ? w.get("strategy").asText()
                : groupSize > 0 ? "group" : groupSize == -1 ? "channel" : "tensor";
        if (!Set.of("group", "channel", "tensor").contains(strategy)) {
            throw TensorData.unsupported("compressed-tensors config group '" + name + "' uses strategy '" + strategy
                    + "'; slimq reads group, channel and tensor");
        }
        if (strategy.equals("group") && groupSize <= 0) {
            throw TensorData.bad("config.json: config group '" + name + "' has strategy group without a positive group_size");
        }
        return new Group(name, targets, new Args(bits, symmetric, strategy, groupSize));
    }

    private static Args argsFor(String module, List<Group> groups) {
        for (Group g : groups) {
            for (String t : g.targets()) {
                if (t.startsWith("re:") ? lookingAt(t.substring(3), module) : t.equals(module)) {
                    return argsOf(g, module);
                }
            }
        }
        for (Group g : groups) {
            for (String t : g.targets()) {
                if (!t.startsWith("re:") && !t.isEmpty() && Character.isUpperCase(t.charAt(0))) {
                    return argsOf(g, module);
                }
            }
        }
        throw TensorData.bad(module + ".weight_packed: no config group targets module '" + module + "'");
    }

    private static Args argsOf(Group g, String module) {
        if (g.args() == null) {
            throw TensorData.bad(module + ".weight_packed: its config group '" + g.name() + "' quantizes no weights");
        }
        return g.args();
    }

    private static boolean lookingAt(String regex, String s) {
        try {
            return Pattern.compile(regex).matcher(s).lookingAt();
        } catch (PatternSyntaxException e) {
            throw TensorData.bad("config.json: target regex '" + regex + "' is invalid: " + e.getDescription());
        }
    }

    @Override
    public QuantFormat format() {
        return QuantFormat.COMPRESSED_TENSORS;
    }

    @Override
    public List<String> weights() {
        return List.copyOf(byWeight.keySet());
    }

    @Override
    public long[] shape(String weight) {
        int[] s = shapeOf(module(weight));
        return new long[] {s[0], s[1]};
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

    private String module(String weight) {
        if (!byWeight.containsKey(weight)) {
            throw TensorData.bad("'" + weight + "' is not a quantized weight of this checkpoint");
        }
        return QuantizationSummary.moduleName(weight);
    }

    private int[] shapeOf(String module) {
        String name = module + ".weight_shape";
        TensorInfo t = TensorData.expect(ckpt, name, Set.of(DType.I32, DType.I64), 2);
        long[] v = TensorData.integers(ckpt, t);
        if (v[0] < 1 || v[1] < 1 || v[0] > Integer.MAX_VALUE || v[1] > Integer.MAX_VALUE) {
            throw TensorData.bad(name + " says [" + v[0] + ", " + v[1] + "]");
        }
        return new int[] {(int) v[0], (int) v[1]};
    }

    private UnpackedWeight unpack(String weight) {
        String m = module(weight);
        Args a = byWeight.get(weight);
        int[] shape = shapeOf(m);
        int rows = shape[0];
        int cols = shape[1];
        int bits = a.bits();
        int pf = BitPacking.perWord(bits);
        int words = (cols + pf - 1) / pf;
        int[] packed = TensorData.ints(ckpt, TensorData.expect(ckpt, m + ".weight_packed", Set.of(DType.I32), rows, words));
        byte[] codes = new byte[Math.multiplyExact(rows, cols)];
        for (int r = 0; r < rows; r++) {
            if (32 % bits == 0) {
                BitPacking.unpackWords(packed, r * words, cols, bits, codes, r * cols);
            } else {
                for (int c = 0; c < cols; c++) {
                    codes[r * cols + c] = (byte) BitPacking.filledValue(packed, r * words, c, bits);
                }
            }
        }

        TensorInfo scaleInfo = TensorData.info(ckpt, m + ".weight_scale");
        if (!SCALE_DTYPES.contains(scaleInfo.dtype())) {
            throw TensorData.unsupported(scaleInfo.name() + " is " + scaleInfo.dtype().wireName() + "; slimq reads F16, BF16 and F32 scales");
        }
        boolean perTensor = a.strategy().equals("tensor");
        int groups = a.strategy().equals("group") ? (cols + a.groupSize() - 1) / a.groupSize() : 1;
        float[] scales;
        if (perTensor) {
            if (scaleInfo.elementCount() != 1) {
                throw TensorData.bad(scaleInfo.name() + " has shape " + scaleInfo.shapeString() + ", expected one scale");
            }
            scales = new float[rows];
            Arrays.fill(scales, TensorData.floats(ckpt, scaleInfo)[0]);
        } else {
            scales = TensorData.floats(ckpt, TensorData.expect(ckpt, scaleInfo.name(), SCALE_DTYPES, rows, groups));
        }

        float[] zeros = new float[rows * groups];
        float mid = 1 << (bits - 1);
        if (a.symmetric()) {
            Arrays.fill(zeros, mid);
        } else {
            TensorInfo zi = TensorData.info(ckpt, m + ".weight_zero_point");
            if (zi.dtype() == DType.I32 && !perTensor) {
                int zrows = (rows + pf - 1) / pf;
                int[] zp = TensorData.ints(ckpt, TensorData.expect(ckpt, zi.name(), Set.of(DType.I32), zrows, groups));
                for (int r = 0; r < rows; r++) {
                    for (int g = 0; g < groups; g++) {
                        zeros[r * groups + g] = zp[(r / pf) * groups + g] >>> (bits * (r % pf)) & ((1 << bits) - 1);
                    }
                }
            } else if (zi.dtype() == DType.I8 && zi.elementCount() == (perTensor ? 1 : (long) rows * groups)) {
                long[] zp = TensorData.integers(ckpt, zi);
                for (int i = 0; i < zeros.length; i++) {
                    zeros[i] = zp[perTensor ? 0 : i] + mid;
                }
            } else {
                throw TensorData.bad(zi.name() + " is " + zi.dtype().wireName() + zi.shapeString()
                        + ", expected packed I32 [" + ((rows + pf - 1) / pf) + ", " + groups + "] or I8 zero points");
            }
        }

        int[] gIdx = null;
        if (ckpt.contains(m + ".weight_g_idx")) {
            gIdx = TensorData.ints(ckpt, TensorData.expect(ckpt, m + ".weight_g_idx", Set.of(DType.I32), cols));
        } else if (cols % groups != 0) {
            gIdx = new int[cols];
            for (int c = 0; c < cols; c++) {
                gIdx[c] = c / a.groupSize();
            }
        }
        return new UnpackedWeight(weight, rows, cols, bits, codes, groups, scales, zeros, gIdx, a.symmetric(), false,
                scaleInfo.dtype(), null);
    }
}
