package dev.slimq.quantize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.json.Json;
import dev.slimq.core.tensor.TensorInfo;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Scale-out of {@code slimq quantize}: {@code --shard K/N} makes a run quantize and write only part K
 * (1-based) of N into a plain part directory; {@link MergeService} assembles the N parts into the
 * checkpoint a single-machine run writes, byte for byte.
 *
 * <p><b>Assignment</b> (deterministic, byte-balanced, identical on every machine because it only reads
 * the input headers): the input tensors are sorted by input bytes descending, then name ascending; each
 * goes to the part with the fewest bytes so far, ties to the lowest part index. All output tensors of
 * one input tensor (codes, scales, zeros, outliers) stay in that tensor's part.
 *
 * <p>A part directory holds {@value #WEIGHTS_FILE} (exactly the part's output tensors with their
 * final bytes) and {@value #PART_FILE}: K, N, the run's fingerprint (input headers and config plus
 * every option that changes the output), the full output plan in final order with each tensor's
 * part, the final config.json text, the report skeleton, and the report entries of its tensors.
 */
public final class ShardRun {
    public static final String PART_FILE = "part.json";
    public static final String WEIGHTS_FILE = "model.safetensors";
    public static final int SCHEMA_VERSION = 1;
    public static final String ASSIGNMENT = "input-bytes-desc-name-asc-greedy-v1";

    private static final Pattern SPEC = Pattern.compile("\\s*(\\d{1,9})\\s*/\\s*(\\d{1,9})\\s*");

    private ShardRun() {
    }

    /** Part {@code k} (1-based) of {@code n}. */
    public record Spec(int k, int n) {
        public Spec {
            if (n < 1 || k < 1 || k > n) {
                throw new SlimqException(Failure.USAGE, "--shard must be K/N with 1 <= K <= N, not " + k + "/" + n);
            }
        }

        /** Parses {@code K/N}. */
        public static Spec parse(String s) {
            Matcher m = SPEC.matcher(s);
            if (!m.matches()) {
                throw new SlimqException(Failure.USAGE, "--shard must be K/N (e.g. 2/3, K from 1), not '" + s + "'");
            }
            return new Spec(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
        }

        @Override
        public String toString() {
            return k + "/" + n;
        }
    }

    /** The 1-based part of every input tensor, by name (see the class comment for the rule). */
    public static Map<String, Integer> assign(List<TensorInfo> inputTensors, int n) {
        List<TensorInfo> sorted = new ArrayList<>(inputTensors);
        sorted.sort(Comparator.comparingLong((TensorInfo t) -> -t.byteCount()).thenComparing(TensorInfo::name));
        long[] load = new long[n];
        Map<String, Integer> part = new HashMap<>();
        for (TensorInfo t : sorted) {
            int best = 0;
            for (int i = 1; i < n; i++) {
                if (load[i] < load[best]) {
                    best = i;
                }
            }
            load[best] += t.byteCount();
            part.put(t.name(), best + 1);
        }
        return part;
    }

    /** SHA-256 over the input's headers (names, dtypes, shapes, sizes), metadata and config.json. */
    public static String inputFingerprint(Checkpoint ckpt) {
        StringBuilder sb = new StringBuilder("input\n");
        for (TensorInfo t : ckpt.tensors()) {
            sb.append(t.name()).append('\t').append(t.dtype().wireName()).append('\t')
                    .append(java.util.Arrays.toString(t.shape())).append('\t').append(t.byteCount()).append('\n');
        }
        sb.append("metadata\t").append(new java.util.TreeMap<>(ckpt.metadata())).append('\n');
        sb.append("config\t").append(ckpt.configJson().map(JsonNode::toString).orElse("-")).append('\n');
        return sha256(sb.toString());
    }

    /** The options that change the output bytes (not threads, force or dry-run). */
    static String optionsKey(QuantizeOptions o) {
        return "method=" + o.method().cliName() + ";bits=" + o.bits() + ";group=" + o.groupSize() + ";symmetric=" + o.symmetric()
                + ";format=" + o.format() + ";target=" + o.target().map(Object::toString).orElse("-") + ";outliers=" + o.outliers()
                + ";sigma=" + o.outlierSigma() + ";granularity=" + o.granularity().describe()
                + ";scale=" + o.scaleDtype().map(d -> d.wireName()).orElse("-") + ";policy=" + o.policy() + ";strict=" + o.strict()
                + ";maxShard=" + o.maxShardBytes();
    }

    static String runFingerprint(String inputFingerprint, QuantizeOptions o, List<TensorInfo> outTensors, String config) {
        StringBuilder sb = new StringBuilder("slimq-shard-v1\n").append(inputFingerprint).append('\n').append(optionsKey(o)).append('\n');
        for (TensorInfo t : outTensors) {
            sb.append(t.name()).append('\t').append(t.dtype().wireName()).append('\t').append(java.util.Arrays.toString(t.shape())).append('\n');
        }
        sb.append(config);
        return sha256(sb.toString());
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The content of {@value #PART_FILE}. */
    static String partJson(Spec spec, Checkpoint ckpt, QuantizeOptions o, List<TensorInfo> outTensors, Map<String, Integer> outPart,
                           String configText, boolean writeReport, QuantizationReport skeleton,
                           List<Map.Entry<String, Long>> quantized, List<QuantizationReport.TensorEntry> entries) {
        String inFp = inputFingerprint(ckpt);
        ObjectNode j = Json.MAPPER.createObjectNode();
        j.put("schema_version", SCHEMA_VERSION);
        j.put("part", spec.k());
        j.put("parts", spec.n());
        j.put("assignment", ASSIGNMENT);
        j.put("fingerprint", runFingerprint(inFp, o, outTensors, configText == null ? "-" : configText));
        j.put("input_fingerprint", inFp);
        j.put("input", ckpt.root().toAbsolutePath().normalize().toString());
        j.put("input_directory", ckpt.isDirectory());
        j.put("options", optionsKey(o));
        j.put("max_shard_bytes", o.maxShardBytes());
        ObjectNode md = j.putObject("metadata");
        ckpt.metadata().forEach(md::put);
        if (configText == null) {
            j.putNull("config_json");
        } else {
            j.put("config_json", configText);
        }
        j.put("write_report", writeReport);
        ArrayNode ts = j.putArray("tensors");
        for (TensorInfo t : outTensors) {
            ObjectNode e = ts.addObject();
            e.put("name", t.name());
            e.put("dtype", t.dtype().wireName());
            ArrayNode sh = e.putArray("shape");
            for (long d : t.shape()) {
                sh.add(d);
            }
            e.put("part", outPart.get(t.name()));
        }
        ObjectNode sk = Json.MAPPER.valueToTree(skeleton);
        sk.remove("bitsPerWeight");
        sk.remove("meanSqnrDb");
        sk.remove("tensors");
        j.set("report", sk);
        ArrayNode q = j.putArray("quantized");
        for (Map.Entry<String, Long> e : quantized) {
            q.addObject().put("name", e.getKey()).put("weights", e.getValue());
        }
        ArrayNode en = j.putArray("entries");
        for (QuantizationReport.TensorEntry e : entries) {
            en.add(Json.MAPPER.valueToTree(e));
        }
        return Json.python(j);
    }
}
