package dev.slimq.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.convert.arrow.TensorTable;
import dev.slimq.convert.gguf.BlockQuant;
import dev.slimq.convert.gguf.GgmlBlocks;
import dev.slimq.convert.gguf.GgmlType;
import dev.slimq.convert.gguf.GgufFile;
import dev.slimq.convert.gguf.GgufTensorInfo;
import dev.slimq.convert.gguf.GgufValue;
import dev.slimq.convert.gguf.GgufWriter;
import dev.slimq.convert.hf.GgufArch;
import dev.slimq.convert.hf.GgufTokenizer;
import dev.slimq.core.Failure;
import dev.slimq.core.IoFailures;
import dev.slimq.core.SlimqException;
import dev.slimq.core.Text;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.checkpoint.CheckpointWriter;
import dev.slimq.core.checkpoint.OutputPaths;
import dev.slimq.core.io.Fingerprint;
import dev.slimq.core.json.Json;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.FloatCodec;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import dev.slimq.quantize.method.Quantizer;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * {@code slimq convert}: safetensors checkpoint to GGUF, GGUF to safetensors, and safetensors to
 * safetensors (dtype casts, resharding).
 *
 * <p>Per-tensor GGUF types follow llama.cpp's {@code convert_hf_to_gguf.py} ({@code prepare_tensors}):
 * 1-D tensors, {@code *_norm.weight}, {@code position_embd} and {@code token_types} stay F32; a
 * quantized type whose block does not divide the row length falls back to F16 (the converter's
 * fallback for Q8_0); {@code token_embd} takes the requested type. For Q4_0/Q4_1, which the Python
 * converter does not offer, {@code output.weight} is written Q8_0, in the spirit of llama-quantize,
 * which keeps the output head at higher precision (Q6_K, which slimq does not write).
 */
public final class ConvertService {
    private ConvertService() {
    }

    /** Target format. */
    public enum Target { GGUF, SAFETENSORS, ARROW }

    /**
     * @param type          GGUF tensor type for weights (GGUF output only)
     * @param dtype         dtype of float tensors in a safetensors output; empty keeps each tensor's
     *                      dtype (GGUF quantized tensors become F32)
     * @param saturate      clamp values beyond the target dtype's range instead of failing
     * @param maxShardBytes shard limit for safetensors outputs, 0 for one file
     * @param method        slimq method that fills Q4_0/Q4_1/Q8_0 blocks ({@link BlockQuant}); empty
     *                      for ggml's reference rounding (llama.cpp's bytes)
     * @param withData      Arrow output only: add each tensor's values as a list&lt;float32&gt; column
     * @param dtypeFor      safetensors output only: per-tensor dtypes ({@link DtypeRule}), tried before
     *                      {@code dtype}; each must match at least one float tensor
     */
    public record Options(Target to, Optional<GgmlType> type, Optional<DType> dtype, boolean saturate, long maxShardBytes, boolean force, int threads,
            Optional<Quantizer> method, boolean withData, List<DtypeRule> dtypeFor) {
        /** Options without per-tensor dtypes. */
        public Options(Target to, Optional<GgmlType> type, Optional<DType> dtype, boolean saturate, long maxShardBytes, boolean force, int threads,
                Optional<Quantizer> method, boolean withData) {
            this(to, type, dtype, saturate, maxShardBytes, force, threads, method, withData, List.of());
        }

        /** Options without Arrow data. */
        public Options(Target to, Optional<GgmlType> type, Optional<DType> dtype, boolean saturate, long maxShardBytes, boolean force, int threads,
                Optional<Quantizer> method) {
            this(to, type, dtype, saturate, maxShardBytes, force, threads, method, false);
        }

        /** Options with ggml's reference rounding. */
        public Options(Target to, Optional<GgmlType> type, Optional<DType> dtype, boolean saturate, long maxShardBytes, boolean force, int threads) {
            this(to, type, dtype, saturate, maxShardBytes, force, threads, Optional.empty(), false);
        }

        /**
         * The dtype a tensor is written as: the first matching {@code --dtype-for} rule, else
         * {@code --dtype}, else {@code stored}. Non-float tensors always keep {@code stored}.
         */
        DType dtypeOf(String name, DType stored, boolean isFloat) {
            if (!isFloat) {
                return stored;
            }
            return DtypeRule.first(dtypeFor, name).map(DtypeRule::dtype).or(() -> dtype).orElse(stored);
        }

        /** Fails, before anything is written, when a rule matches none of these float tensor names. */
        void checkRulesMatch(List<String> floatNames, Path in) {
            for (DtypeRule r : dtypeFor) {
                if (floatNames.stream().noneMatch(n -> r.pattern().matcher(n).matches())) {
                    throw new SlimqException(Failure.USAGE, "--dtype-for '" + Text.oneLine(r.spec()) + "' matches no float tensor of " + in);
                }
            }
        }

        public Options {
            dtypeFor = List.copyOf(dtypeFor);
            if (!dtypeFor.isEmpty() && to != Target.SAFETENSORS) {
                throw new SlimqException(Failure.USAGE, "--dtype-for applies to --to safetensors; use --type for GGUF");
            }
            if (withData && to != Target.ARROW) {
                throw new SlimqException(Failure.USAGE, "--with-data applies to --to arrow");
            }
            if (to == Target.ARROW && (saturate || maxShardBytes > 0)) {
                throw new SlimqException(Failure.USAGE, (saturate ? "--saturate" : "--max-shard-size") + " does not apply to --to arrow");
            }
            if (type.isPresent() && to != Target.GGUF) {
                throw new SlimqException(Failure.USAGE, "--type applies to --to gguf; use --dtype for safetensors outputs");
            }
            if (dtype.isPresent() && to != Target.SAFETENSORS) {
                throw new SlimqException(Failure.USAGE, "--dtype applies to --to safetensors; use --type for GGUF");
            }
            dtype.ifPresent(d -> {
                if (!DtypeRule.CASTABLE.contains(d)) {
                    throw new SlimqException(Failure.USAGE, "--dtype must be f32, f16, bf16 or f8_e4m3, not " + d.wireName().toLowerCase(Locale.ROOT));
                }
            });
            if (method.isPresent() && (type.isEmpty() || !BlockQuant.supports(type.get()))) {
                throw new SlimqException(Failure.USAGE, "--method " + method.get().methodName()
                        + " applies to --to gguf --type q4_0, q4_1 or q8_0; other types have no scales to optimize");
            }
            type.ifPresent(t -> {
                if (t == GgmlType.Q4_K || t == GgmlType.Q6_K) {
                    throw new SlimqException(Failure.UNSUPPORTED, "slimq reads " + t.cliName() + " but does not write it; use f32, f16, bf16, q8_0, q4_0 or q4_1");
                }
            });
        }
    }

    /**
     * What was written, warnings for the user (e.g. a pre-tokenizer llama.cpp has no name for), and
     * how many tensors were kept from an interrupted run with the same fingerprint.
     */
    public record Result(String input, String output, String from, String to, String type, int tensors, long outputBytes, List<String> warnings,
                         int resumedTensors) {
        public Result {
            warnings = List.copyOf(warnings);
        }

        public Result(String input, String output, String from, String to, String type, int tensors, long outputBytes, List<String> warnings) {
            this(input, output, from, to, type, tensors, outputBytes, warnings, 0);
        }

        public Result(String input, String output, String from, String to, String type, int tensors, long outputBytes) {
            this(input, output, from, to, type, tensors, outputBytes, List.of());
        }
    }

    public static Result run(Path in, Path out, Options o) {
        return run(in, out, o, null);
    }

    /**
     * As {@link #run(Path, Path, Options)}; with {@code fingerprint}, a safetensors output records it
     * and an interrupted run with the same fingerprint resumes: tensors the earlier run finished (and
     * whose bytes still match their checksums) are kept, the rest are converted, and the result is the
     * same bytes as an uninterrupted run. GGUF and Arrow outputs start over.
     */
    public static Result run(Path in, Path out, Options o, Fingerprint fingerprint) {
        OutputPaths.check(out, List.of(in), o.force());
        boolean inGguf = Files.isRegularFile(in) && in.getFileName().toString().endsWith(".gguf");
        return switch (o.to()) {
            case GGUF -> {
                if (inGguf) {
                    throw new SlimqException(Failure.UNSUPPORTED, "GGUF to GGUF is not supported; convert to safetensors first");
                }
                if (!out.getFileName().toString().endsWith(".gguf")) {
                    throw new SlimqException(Failure.USAGE, "a GGUF output is one file whose name ends in .gguf, got " + out);
                }
                yield toGguf(in, out, o);
            }
            case SAFETENSORS -> inGguf ? ggufToSafetensors(in, out, o, fingerprint) : recast(in, out, o, fingerprint);
            case ARROW -> {
                if (inGguf) {
                    throw new SlimqException(Failure.UNSUPPORTED, "GGUF to Arrow is not supported; convert to safetensors first");
                }
                if (!out.getFileName().toString().endsWith(".arrow")) {
                    throw new SlimqException(Failure.USAGE, "an Arrow output is one file whose name ends in .arrow, got " + out);
                }
                yield toArrow(in, out, o);
            }
        };
    }

    // ---------------------------------------------------------------- safetensors -> Arrow

    /** One row per tensor with its statistics (and values with {@code withData}); see {@link TensorTable}. */
    static Result toArrow(Path in, Path out, Options o) {
        try (Checkpoint ck = Checkpoint.open(in); WorkPool pool = new WorkPool(o.threads())) {
            int rows = TensorTable.write(ck, out, o.withData(), pool);
            long bytes;
            try {
                bytes = Files.size(out);
            } catch (IOException e) {
                throw IoFailures.wrap("read", out, e);
            }
            return new Result(in.toString(), out.toString(), "safetensors", "arrow", o.withData() ? "statistics and values" : "statistics", rows, bytes);
        }
    }

    // ---------------------------------------------------------------- safetensors -> GGUF

    /**
     * One tensor to write; {@code skipRows} leading rows are left out ({@link GgufArch#positionOffset}:
     * XLM-R's position table), so {@code shape} is the written shape.
     */
    private record Job(TensorInfo hf, String name, GgmlType type, int permuteHeads, int skipRows, long[] shape) {
    }

    static Result toGguf(Path in, Path out, Options o) {
        GgmlType requested = o.type().orElse(GgmlType.F16);
        try (Checkpoint ck = Checkpoint.open(in); WorkPool pool = new WorkPool(o.threads())) {
            JsonNode config = ck.configJson().orElseThrow(() -> new SlimqException(Failure.BAD_INPUT, in + " has no config.json; GGUF needs the model's hyperparameters"));
            GgufArch arch = GgufArch.of(config);
            Path tokPath = in.resolve("tokenizer.json");
            if (!Files.isRegularFile(tokPath)) {
                throw new SlimqException(Failure.BAD_INPUT, in + " has no tokenizer.json; GGUF embeds the tokenizer");
            }
            JsonNode tok = readJson(tokPath);
            Path tokConfigPath = in.resolve("tokenizer_config.json");
            JsonNode tokConfig = Files.isRegularFile(tokConfigPath) ? readJson(tokConfigPath) : com.fasterxml.jackson.databind.node.MissingNode.getInstance();
            List<Job> jobs = new ArrayList<>();
            int posOffset = GgufArch.positionOffset(config);
            for (TensorInfo t : ck.tensors()) {
                Optional<String> name = arch.ggufName(t.name());
                if (name.isEmpty()) {
                    continue;
                }
                if (!t.dtype().isFloat() || !FloatCodec.isDecodable(t.dtype()) || t.rank() > 4 || t.rank() == 0) {
                    throw new SlimqException(Failure.UNSUPPORTED, "tensor '" + Text.oneLine(t.name()) + "' (" + t.dtype().wireName() + ", rank " + t.rank()
                            + ") cannot go into GGUF: float tensors of 1 to 4 dims only");
                }
                int skip = name.get().equals("position_embd.weight") ? posOffset : 0;
                long[] shape = t.shape().clone();
                if (skip > 0) {
                    if (t.rank() != 2 || shape[0] <= skip) {
                        throw new SlimqException(Failure.BAD_INPUT, "tensor '" + Text.oneLine(t.name()) + "' of shape " + java.util.Arrays.toString(shape)
                                + " has no rows past XLM-R's position offset " + skip + " (pad_token_id + 1)");
                    }
                    shape[0] -= skip;
                }
                jobs.add(new Job(t, name.get(), typeFor(name.get(), t, requested), arch.permuteHeads(t.name(), config), skip, shape));
            }
            Map<String, GgufValue> kv = new LinkedHashMap<>();
            kv.put("general.architecture", GgufValue.string(arch.ggufName()));
            kv.put("general.name", GgufValue.string(config.path("_name_or_path").asText(in.toAbsolutePath().getFileName().toString())));
            kv.putAll(arch.hparams(config));
            kv.put("general.file_type", GgufValue.u32(fileType(requested)));
            kv.put("general.quantization_version", GgufValue.u32(2));
            if (arch == GgufArch.BERT) {
                poolingType(in).ifPresent(p -> kv.put("bert.pooling_type", GgufValue.u32(p)));
            }
            GgufTokenizer.Metadata tokMeta = GgufTokenizer.metadata(tok, tokConfig, config, arch);
            kv.putAll(tokMeta.keys());
            List<GgufWriter.Planned> plan = jobs.stream().map(j -> new GgufWriter.Planned(j.name(), j.shape(), j.type())).toList();
            long bytes = 0;
            try (GgufWriter w = GgufWriter.create(out, kv, plan)) {
                for (Job j : jobs) {
                    ByteBuffer data = encode(ck, j, pool, o.method());
                    bytes += data.remaining();
                    w.write(j.name(), data);
                }
                w.commit();
            }
            String type = o.method().map(m -> requested.cliName() + " (" + m.methodName() + ")").orElse(requested.cliName());
            return new Result(in.toString(), out.toString(), "safetensors", "gguf", type, jobs.size(), bytes, tokMeta.warnings());
        }
    }

    /** The converter's per-tensor type rule; see the class comment. */
    static GgmlType typeFor(String ggufName, TensorInfo t, GgmlType requested) {
        if (t.rank() <= 1 || ggufName.endsWith("_norm.weight") || ggufName.startsWith("position_embd.") || ggufName.startsWith("token_types.")) {
            return GgmlType.F32;
        }
        GgmlType type = requested;
        if ((type == GgmlType.Q4_0 || type == GgmlType.Q4_1) && ggufName.equals("output.weight")) {
            type = GgmlType.Q8_0;
        }
        if (t.cols() % type.blockSize() != 0) {
            type = GgmlType.F16;
        }
        return type;
    }

    /** llama.h {@code llama_ftype}: ALL_F32 0, MOSTLY_F16 1, Q4_0 2, Q4_1 3, Q8_0 7, BF16 32. */
    static int fileType(GgmlType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q4_1 -> 3;
            case Q8_0 -> 7;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException(t.name());
        };
    }

    /** sentence-transformers' {@code 1_Pooling/config.json}: llama.cpp pooling types MEAN 1, CLS 2. */
    static Optional<Integer> poolingType(Path in) {
        Path p = in.resolve("1_Pooling").resolve("config.json");
        if (!Files.isRegularFile(p)) {
            return Optional.empty();
        }
        JsonNode n = readJson(p);
        if (n.path("pooling_mode_cls_token").asBoolean(false)) {
            return Optional.of(2);
        }
        if (n.path("pooling_mode_mean_tokens").asBoolean(false)) {
            return Optional.of(1);
        }
        return Optional.empty();
    }

    /**
     * One tensor's GGUF bytes, computed in row blocks on the pool (each block reads its rows from the
     * mapped input, in ggml row order when the rows are permuted, and encodes them into its slice).
     */
    private static ByteBuffer encode(Checkpoint ck, Job j, WorkPool pool, Optional<Quantizer> method) {
        TensorInfo t = j.hf();
        int cols = (int) t.cols();
        long n = t.elementCount() - (long) j.skipRows() * cols;
        long rows = n / cols;
        long size = j.type().byteSize(n);
        ByteBuffer buf = ByteBuffer.allocateDirect(Math.toIntExact(size));
        MemorySegment dst = MemorySegment.ofBuffer(buf);
        long rowBytes = j.type().byteSize(cols);
        int rowsPerBlock = (int) Math.max(1, Math.min(rows, (1 << 18) / Math.max(1, cols)));
        int blocks = Math.toIntExact((rows + rowsPerBlock - 1) / rowsPerBlock);
        int heads = j.permuteHeads();
        int d = heads > 0 ? (int) (rows / heads) : 0;
        if (heads > 0 && (rows % heads != 0 || d % 2 != 0)) {
            throw new SlimqException(Failure.BAD_INPUT, "tensor '" + t.name() + "': " + rows + " rows cannot be split into " + heads + " heads of even size");
        }
        try (TensorView v = ck.map(t.name())) {
            pool.map(blocks, b -> {
                long r0 = (long) b * rowsPerBlock;
                int nr = (int) Math.min(rowsPerBlock, rows - r0);
                float[] x = new float[nr * cols];
                for (int r = 0; r < nr; r++) {
                    long g = r0 + r;
                    long src = g;
                    if (heads > 0) {
                        long h = g / d;
                        int within = (int) (g % d);
                        src = h * d + (long) (within % 2) * (d / 2) + within / 2;
                    }
                    v.readFloats((src + j.skipRows()) * cols, x, r * cols, cols);
                }
                if (method.isPresent() && BlockQuant.supports(j.type())) {
                    BlockQuant.encode(j.type(), method.get(), t.name(), x, nr, cols, dst, r0 * rowBytes);
                } else {
                    GgmlBlocks.encode(j.type(), x, 0, x.length, dst, r0 * rowBytes);
                }
                return null;
            });
        }
        return buf;
    }

    // ---------------------------------------------------------------- GGUF -> safetensors

    static Result ggufToSafetensors(Path in, Path out, Options o, Fingerprint fingerprint) {
        try (GgufFile g = GgufFile.open(in)) {
            String archName = g.get("general.architecture").map(v -> v.value() instanceof String s ? s : "").orElse("");
            GgufArch arch = GgufArch.ofGguf(archName);
            ObjectNode config = configFrom(g, arch);
            int posOffset = GgufArch.positionOffset(config);
            int heads = config.path("num_attention_heads").asInt();
            int kvHeads = config.path("num_key_value_heads").asInt(heads);
            List<TensorInfo> infos = new ArrayList<>();
            Map<String, GgufTensorInfo> source = new LinkedHashMap<>();
            for (GgufTensorInfo t : g.tensors()) {
                String hf = arch.hfName(t.name());
                DType d = o.dtypeOf(hf, switch (t.type()) {
                    case F16 -> DType.F16;
                    case BF16 -> DType.BF16;
                    default -> DType.F32;
                }, true);
                long[] shape = t.shape().clone();
                if (posOffset > 0 && t.name().equals("position_embd.weight") && shape.length == 2) {
                    shape[0] += posOffset;
                }
                infos.add(TensorInfo.planned(hf, d, shape));
                source.put(hf, t);
            }
            o.checkRulesMatch(new ArrayList<>(source.keySet()), in);
            o.dtype().ifPresent(d -> config.put("torch_dtype", torchDtype(d)));
            long bytes = 0;
            int resumed;
            try (CheckpointWriter w = CheckpointWriter.create(out, infos, Map.of("format", "pt"), o.maxShardBytes(), null, fingerprint)) {
                resumed = w.resumedTensorCount();
                w.putFile("config.json", Json.python(config));
                for (TensorInfo info : infos) {
                    if (w.isFinished(info.name())) { // kept from an interrupted run with the same fingerprint
                        bytes += info.byteCount();
                        continue;
                    }
                    GgufTensorInfo t = source.get(info.name());
                    float[] x = g.readFloats(t);
                    if (info.shape()[0] != t.shape()[0]) {
                        // XLM-R's position rows below pad_token_id + 1, which the GGUF leaves out: zeros
                        // (no token ever reads them; the padding row of a trained XLM-R is zero too).
                        float[] full = new float[Math.toIntExact(info.elementCount())];
                        System.arraycopy(x, 0, full, full.length - x.length, x.length);
                        x = full;
                    }
                    int ph = arch.permutesQk() ? (info.name().contains("self_attn.q_proj.") ? heads : info.name().contains("self_attn.k_proj.") ? kvHeads : 0) : 0;
                    if (ph > 0) {
                        long[] s = t.shape();
                        x = GgufArch.permuteRows(x, s[0], (int) (x.length / s[0]), ph, true);
                    }
                    cast(x, info.dtype(), o.saturate(), info.name());
                    try (SafetensorsWriter.TensorSink sink = w.open(info.name())) {
                        sink.writeFloats(x, 0, x.length);
                    }
                    bytes += info.byteCount();
                }
                w.commit();
            }
            return new Result(in.toString(), out.toString(), "gguf", "safetensors", o.dtype().map(DType::wireName).orElse("as stored"), infos.size(), bytes,
                    List.of(), resumed);
        }
    }

    private static String torchDtype(DType d) {
        return switch (d) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> "float8_e4m3fn";
        };
    }

    /** config.json from GGUF metadata (the keys {@link GgufArch#hparams} writes, read back). */
    static ObjectNode configFrom(GgufFile g, GgufArch arch) {
        String p = arch.ggufName() + ".";
        ObjectNode c = Json.MAPPER.createObjectNode();
        ArrayNode archs = c.putArray("architectures");
        int hidden = Math.toIntExact(count(g, p + "embedding_length"));
        int heads = Math.toIntExact(count(g, p + "attention.head_count"));
        long vocab = g.get("tokenizer.ggml.tokens").map(v -> (long) v.asList().size())
                .orElseGet(() -> g.get(p + "vocab_size").map(GgufValue::asLong).orElse(0L));
        // An encoder with llama.cpp's Unigram (t5) tokenizer is an XLM-R one: that is the only way in.
        boolean xlmr = arch == GgufArch.BERT && g.get("tokenizer.ggml.model").map(v -> v.value() instanceof String s && s.equals("t5")).orElse(false);
        if (xlmr) {
            archs.add("XLMRobertaModel");
            c.put("model_type", "xlm-roberta");
            long pad = g.get("tokenizer.ggml.padding_token_id").map(GgufValue::asLong).orElse(1L);
            if (pad < 0 || pad >= vocab) {
                throw new SlimqException(Failure.BAD_INPUT, g.path() + ": tokenizer.ggml.padding_token_id " + pad + " is outside the vocabulary of " + vocab);
            }
            c.put("pad_token_id", pad);
            g.get("tokenizer.ggml.bos_token_id").ifPresent(v -> c.put("bos_token_id", v.asLong()));
            g.get("tokenizer.ggml.eos_token_id").ifPresent(v -> c.put("eos_token_id", v.asLong()));
            c.put("hidden_act", "gelu");
            c.put("layer_norm_eps", num(g, p + "attention.layer_norm_epsilon"));
            c.put("type_vocab_size", g.get("tokenizer.ggml.token_type_count").map(GgufValue::asLong).orElse(1L));
            c.put("position_embedding_type", "absolute");
        } else if (arch == GgufArch.BERT) {
            archs.add("BertModel");
            c.put("model_type", "bert");
            c.put("hidden_act", "gelu");
            c.put("layer_norm_eps", num(g, p + "attention.layer_norm_epsilon"));
            c.put("type_vocab_size", g.get("tokenizer.ggml.token_type_count").map(GgufValue::asLong).orElse(2L));
            g.get("tokenizer.ggml.padding_token_id").ifPresent(v -> c.put("pad_token_id", v.asLong()));
            c.put("position_embedding_type", "absolute");
        } else {
            archs.add(arch == GgufArch.LLAMA ? "LlamaForCausalLM" : "Qwen2ForCausalLM");
            c.put("model_type", arch.ggufName());
            c.put("hidden_act", "silu");
            c.put("num_key_value_heads", g.get(p + "attention.head_count_kv").map(GgufValue::asLong).orElse((long) heads));
            c.put("rms_norm_eps", num(g, p + "attention.layer_norm_rms_epsilon"));
            c.put("rope_theta", g.get(p + "rope.freq_base").map(GgufValue::asDouble).orElse(10000.0));
            c.put("head_dim", g.get(p + "rope.dimension_count").map(GgufValue::asLong).orElse((long) hidden / heads));
            c.put("tie_word_embeddings", g.tensor("output.weight").isEmpty());
            g.get("tokenizer.ggml.bos_token_id").ifPresent(v -> c.put("bos_token_id", v.asLong()));
            g.get("tokenizer.ggml.eos_token_id").ifPresent(v -> c.put("eos_token_id", v.asLong()));
        }
        c.put("hidden_size", hidden);
        c.put("intermediate_size", count(g, p + "feed_forward_length"));
        c.put("max_position_embeddings", count(g, p + "context_length") + (xlmr ? c.path("pad_token_id").asLong() + 1 : 0));
        c.put("num_attention_heads", heads);
        c.put("num_hidden_layers", count(g, p + "block_count"));
        c.put("vocab_size", vocab);
        return c;
    }

    /** An integer-valued key (counts, lengths) as a whole number, as config.json must hold it. */
    private static long count(GgufFile g, String key) {
        double v = num(g, key);
        if (v != Math.rint(v) || v < 0) {
            throw new SlimqException(Failure.BAD_INPUT, g.path() + ": GGUF metadata key '" + key + "' is not a whole number");
        }
        return (long) v;
    }

    private static double num(GgufFile g, String key) {
        GgufValue v = g.get(key).orElseThrow(() -> new SlimqException(Failure.BAD_INPUT, g.path() + ": GGUF metadata key '" + key + "' is missing"));
        try {
            return v.asDouble();
        } catch (IllegalStateException e) {
            throw new SlimqException(Failure.BAD_INPUT, g.path() + ": GGUF metadata key '" + key + "' is not a number");
        }
    }

    // ---------------------------------------------------------------- safetensors -> safetensors

    static Result recast(Path in, Path out, Options o, Fingerprint fingerprint) {
        try (Checkpoint ck = Checkpoint.open(in)) {
            List<TensorInfo> infos = new ArrayList<>();
            List<String> floats = new ArrayList<>();
            for (TensorInfo t : ck.tensors()) {
                boolean castable = t.dtype().isFloat() && FloatCodec.isEncodable(t.dtype());
                if (castable) {
                    floats.add(t.name());
                }
                infos.add(TensorInfo.planned(t.name(), o.dtypeOf(t.name(), t.dtype(), castable), t.shape()));
            }
            o.checkRulesMatch(floats, in);
            long bytes = 0;
            int resumed;
            try (CheckpointWriter w = CheckpointWriter.create(out, infos, ck.metadata(), o.maxShardBytes(), ck, fingerprint)) {
                resumed = w.resumedTensorCount();
                if (o.dtype().isPresent() && ck.configJson().isPresent() && ck.configJson().get().has("torch_dtype")) {
                    ObjectNode c = (ObjectNode) ck.configJson().get();
                    c.put("torch_dtype", torchDtype(o.dtype().get()));
                    w.putFile("config.json", Json.python(c));
                }
                for (TensorInfo info : infos) {
                    if (w.isFinished(info.name())) { // kept from an interrupted run with the same fingerprint
                        bytes += info.byteCount();
                        continue;
                    }
                    TensorInfo src = ck.tensor(info.name());
                    try (TensorView v = ck.map(info.name()); SafetensorsWriter.TensorSink sink = w.open(info.name())) {
                        if (info.dtype() == src.dtype()) {
                            sink.write(v.segment());
                        } else {
                            long n = src.elementCount();
                            float[] x = new float[(int) Math.min(n, 1 << 20)];
                            for (long k = 0; k < n; k += x.length) {
                                int len = (int) Math.min(x.length, n - k);
                                v.readFloats(k, x, 0, len);
                                cast(x, len, info.dtype(), o.saturate(), info.name());
                                sink.writeFloats(x, 0, len);
                            }
                        }
                    }
                    bytes += info.byteCount();
                }
                w.commit();
            }
            return new Result(in.toString(), out.toString(), "safetensors", "safetensors", o.dtype().map(DType::wireName).orElse("as stored"), infos.size(), bytes,
                    List.of(), resumed);
        }
    }

    static void cast(float[] x, DType d, boolean saturate, String name) {
        cast(x, x.length, d, saturate, name);
    }

    /**
     * Checks (or, with {@code saturate}, clamps) values that would overflow {@code d}: a finite value
     * at or beyond the largest finite value plus half an ulp, where round-to-nearest-even leaves the
     * finite range (F16: 65520; F8_E4M3: 464, that format having no infinity; BF16: F32's range
     * minus half a BF16 ulp).
     */
    static void cast(float[] x, int len, DType d, boolean saturate, String name) {
        float max;
        float limit;
        switch (d) {
            case F16 -> {
                max = 65504f;
                limit = 65520f;
            }
            case F8_E4M3 -> {
                max = 448f;
                limit = 464f;
            }
            case BF16 -> {
                max = Float.intBitsToFloat(0x7F7F0000);
                limit = Float.intBitsToFloat(0x7F7F8000);
            }
            default -> {
                return;
            }
        }
        for (int i = 0; i < len; i++) {
            float v = x[i];
            if (Float.isFinite(v) && Math.abs(v) >= limit) {
                if (!saturate) {
                    throw new SlimqException(Failure.BAD_INPUT, "tensor '" + Text.oneLine(name) + "' has value " + v + ", beyond the range of "
                            + d.wireName() + " (largest " + max + "); pass --saturate to clamp");
                }
                x[i] = Math.copySign(max, v);
            }
        }
    }

    private static JsonNode readJson(Path p) {
        try {
            return Json.MAPPER.readTree(p.toFile());
        } catch (IOException e) {
            if (e instanceof com.fasterxml.jackson.core.JsonProcessingException j) {
                throw new SlimqException(Failure.BAD_INPUT, p + " is not valid JSON: " + Text.oneLine(j.getOriginalMessage()));
            }
            throw IoFailures.wrap("read", p, e);
        }
    }
}
