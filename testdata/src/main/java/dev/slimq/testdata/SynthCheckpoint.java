package dev.slimq.testdata;

import dev.slimq.core.json.Json;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.checkpoint.CheckpointWriter;
import dev.slimq.core.checkpoint.OutputPaths;
import dev.slimq.core.checkpoint.ShardPlan;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Writes a synthetic Hugging Face checkpoint directory: {@code config.json} as transformers writes
 * it, safetensors weights (one {@code model.safetensors}, or with {@link SynthSpec#maxShardBytes()}
 * greedy shards {@code model-0000i-of-0000n.safetensors} with {@code model.safetensors.index.json}),
 * and a trained tokenizer ({@code tokenizer.json}, {@code tokenizer_config.json}; {@code vocab.txt}
 * for BERT; {@code generation_config.json} for Llama). Weight statistics are described in
 * {@link WeightRecipe}, the tokenizers in {@link SynthTokenizer}.
 *
 * <p>The directory is written through core's {@link CheckpointWriter}, like every other slimq output:
 * it is assembled in a hidden sibling ({@code .OUT.partial}), sharded and indexed as Hugging Face
 * does it, and renamed into place only once complete. A failed or interrupted run therefore leaves
 * no output directory (and, when replacing, the previous output untouched); a SIGKILL may leave the
 * hidden staging sibling behind, never a directory that looks complete.
 *
 * <p>Guarantees: the same {@link SynthSpec} gives byte-identical files, whatever the thread count;
 * memory stays at about one block (4 MB of floats) per thread, whatever the preset.
 */
public final class SynthCheckpoint {
    /**
     * How to write (not what): whether an existing output may be replaced, and how many threads
     * generate tensors (the output does not depend on it).
     */
    public record Options(boolean force, int threads) {
        public Options {
            if (threads < 1) {
                throw new SlimqException(Failure.USAGE, "threads must be at least 1, got " + threads);
            }
        }

        /** No replacing; one thread per available processor. */
        public static Options defaults() {
            return new Options(false, Runtime.getRuntime().availableProcessors());
        }
    }

    /**
     * What was written.
     *
     * @param dir the output directory, absolute
     * @param files the absolute paths of every file in the output directory, sorted
     * @param tensorBytes the sum of tensor data bytes (the index's {@code total_size})
     */
    public record Result(Path dir, List<Path> files, int tensorCount, long parameterCount, long tensorBytes) {
        public Result {
            files = List.copyOf(files);
        }
    }

    private SynthCheckpoint() {
    }

    /** Writes {@code spec} into {@code outDir} with {@link Options#defaults()}. */
    public static Result write(SynthSpec spec, Path outDir) {
        return write(spec, outDir, Options.defaults());
    }

    /**
     * Writes {@code spec} as the directory {@code outDir}. An existing {@code outDir} (even an empty
     * directory) is refused with {@link Failure#USAGE} unless {@code options.force()}; with it, the
     * whole previous output is replaced, but only once the new one is complete. A missing parent
     * directory is a {@link Failure#IO}. The checks are {@link OutputPaths#check}'s and happen before
     * anything is written.
     */
    public static Result write(SynthSpec spec, Path outDir, Options options) {
        return write(spec, outDir, options, tensor -> {
        });
    }

    /** As {@link #write(SynthSpec, Path, Options)}; {@code beforeTensor} runs before each tensor is generated (tests inject failures). */
    static Result write(SynthSpec spec, Path outDir, Options options, Consumer<String> beforeTensor) {
        String name = outDir.getFileName() == null ? "" : outDir.getFileName().toString();
        if (name.isEmpty() || name.equals(".") || name.equals("..")) {
            throw new SlimqException(Failure.USAGE, "output " + outDir + " does not name a directory to create");
        }
        if (name.endsWith(".safetensors")) {
            // CheckpointWriter would write a lone weights file there; a synthetic checkpoint is a directory.
            throw new SlimqException(Failure.USAGE, "output " + outDir + " is a .safetensors name; a synthetic checkpoint is a directory");
        }
        OutputPaths.check(outDir, List.of(), options.force());

        ModelShape shape = spec.shape();
        List<WeightRecipe.Tensor> tensors = WeightRecipe.tensors(spec);
        List<TensorInfo> planned = planned(spec, tensors);
        List<String> fileNames = new ArrayList<>();
        try (CheckpointWriter writer = CheckpointWriter.create(outDir, planned, Map.of(), spec.maxShardBytes(), null)) {
            generateAll(tensors, spec.seed(), writer, options.threads(), beforeTensor);

            SynthTokenizer.Trained tok = SynthTokenizer.train(spec.arch(), shape.vocab());
            Map<String, String> files = new TreeMap<>();
            files.put("config.json", Json.python(config(spec)));
            if (spec.arch() == SynthSpec.Arch.LLAMA) {
                files.put("generation_config.json", Json.python(sorted(Map.of("_from_model_config", true,
                        "bos_token_id", 1, "eos_token_id", 2))));
            }
            files.put("tokenizer.json", Json.python(SynthTokenizer.tokenizerJson(tok)));
            files.put("tokenizer_config.json", Json.python(SynthTokenizer.tokenizerConfig(tok, shape.maxPositions())));
            if (spec.arch() == SynthSpec.Arch.BERT) {
                files.put("vocab.txt", SynthTokenizer.vocabTxt(tok));
            }
            files.forEach(writer::putFile);

            fileNames.addAll(files.keySet());
            ShardPlan shards = writer.shards();
            shards.shards().forEach(s -> fileNames.add(s.fileName()));
            if (shards.isSharded()) {
                fileNames.add(Checkpoint.INDEX_FILE);
            }
            writer.commit();
        }

        long bytes = 0;
        long params = 0;
        for (WeightRecipe.Tensor t : tensors) {
            params += t.elements();
            bytes += t.elements() * spec.dtype().byteSize();
        }
        Path dir = outDir.toAbsolutePath();
        List<Path> paths = fileNames.stream().sorted().map(dir::resolve).toList();
        return new Result(dir, paths, tensors.size(), params, bytes);
    }

    /** Every tensor of {@code spec} (name, dtype, shape; offsets zero) in transformers' state_dict order. */
    public static List<TensorInfo> plannedTensors(SynthSpec spec) {
        return planned(spec, WeightRecipe.tensors(spec));
    }

    private static List<TensorInfo> planned(SynthSpec spec, List<WeightRecipe.Tensor> tensors) {
        return tensors.stream().map(t -> TensorInfo.planned(t.name(), spec.dtype(), t.shape())).toList();
    }

    // ---------------------------------------------------------------------------------------------
    // Weights.

    /**
     * Generates every tensor on a {@link WorkPool}, largest first (which balances the pool; the order
     * does not change any byte, since each tensor has its fixed place in its shard). When one tensor
     * fails, tensors still running stop at their next block, and that first failure is thrown.
     */
    private static void generateAll(List<WeightRecipe.Tensor> tensors, long seed, CheckpointWriter writer, int threads,
            Consumer<String> beforeTensor) {
        List<WeightRecipe.Tensor> jobs = new ArrayList<>(tensors);
        jobs.sort(Comparator.comparingLong((WeightRecipe.Tensor t) -> -t.elements())); // stable: ties keep recipe order
        AtomicReference<Throwable> firstFailure = new AtomicReference<>();
        try (WorkPool pool = new WorkPool(threads)) {
            pool.map(jobs.size(), i -> {
                try {
                    beforeTensor.accept(jobs.get(i).name());
                    generate(jobs.get(i), seed, writer, firstFailure);
                } catch (Cancelled c) {
                    throw c;
                } catch (RuntimeException | Error e) {
                    firstFailure.compareAndSet(null, e);
                    throw e;
                }
                return null;
            });
        } catch (Cancelled c) {
            // A tensor stopped because of another's failure and happened to come first: report the cause.
            Throwable cause = firstFailure.get();
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw c;
        }
    }

    /** Thrown by tensors still running when another has failed. */
    private static final class Cancelled extends RuntimeException {
        Cancelled() {
            super("cancelled because another tensor failed", null, false, false);
        }
    }

    private static void generate(WeightRecipe.Tensor t, long seed, CheckpointWriter writer, AtomicReference<Throwable> failed) {
        // At most one block (BLOCK_ELEMENTS floats, or one row of a wider tensor) per running tensor.
        float[] values = new float[t.rowsPerBlock() * t.cols()];
        try (SafetensorsWriter.TensorSink sink = writer.open(t.name())) {
            for (long b = 0; b < t.blocks(); b++) {
                if (failed.get() != null) {
                    throw new Cancelled();
                }
                int n = WeightRecipe.fillBlock(t, seed, b, values);
                sink.writeFloats(values, 0, n);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // JSON files.

    private static ObjectNode sorted(Map<String, ?> map) {
        return Json.MAPPER.valueToTree(new TreeMap<>(map));
    }

    static String torchDtype(DType d) {
        return switch (d) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            case F32 -> "float32";
            default -> throw new IllegalArgumentException(d.wireName());
        };
    }

    /** config.json with the keys transformers' LlamaConfig / BertConfig save, sorted as it sorts them. */
    static ObjectNode config(SynthSpec spec) {
        ModelShape s = spec.shape();
        Map<String, Object> c = new TreeMap<>();
        c.put("hidden_size", s.hidden());
        c.put("intermediate_size", s.intermediate());
        c.put("num_attention_heads", s.heads());
        c.put("num_hidden_layers", s.layers());
        c.put("max_position_embeddings", s.maxPositions());
        c.put("vocab_size", s.vocab());
        c.put("initializer_range", 0.02);
        c.put("torch_dtype", torchDtype(spec.dtype()));
        c.put("use_cache", true);
        if (spec.arch() == SynthSpec.Arch.LLAMA) {
            c.put("architectures", List.of("LlamaForCausalLM"));
            c.put("model_type", "llama");
            c.put("attention_bias", false);
            c.put("attention_dropout", 0.0);
            c.put("bos_token_id", 1);
            c.put("eos_token_id", 2);
            c.put("head_dim", s.headDim());
            c.put("hidden_act", "silu");
            c.put("mlp_bias", false);
            c.put("num_key_value_heads", s.kvHeads());
            c.put("pretraining_tp", 1);
            c.put("rms_norm_eps", 1e-5);
            c.put("rope_scaling", null);
            c.put("rope_theta", 10000.0);
            c.put("tie_word_embeddings", spec.tiedEmbeddings());
        } else {
            c.put("architectures", List.of("BertModel"));
            c.put("model_type", "bert");
            c.put("attention_probs_dropout_prob", 0.1);
            c.put("classifier_dropout", null);
            c.put("hidden_act", "gelu");
            c.put("hidden_dropout_prob", 0.1);
            c.put("layer_norm_eps", 1e-12);
            c.put("pad_token_id", 0);
            c.put("position_embedding_type", "absolute");
            c.put("type_vocab_size", s.typeVocab());
        }
        return Json.MAPPER.valueToTree(c);
    }
}
