package dev.slimq.quantize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.checkpoint.CheckpointWriter;
import dev.slimq.core.checkpoint.OutputPaths;
import dev.slimq.core.io.Fingerprint;
import dev.slimq.core.json.Json;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.progress.ProgressListener;
import dev.slimq.core.progress.ProgressTask;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import dev.slimq.quantize.format.QuantFormat;
import dev.slimq.quantize.format.QuantizationSummary;
import dev.slimq.quantize.format.QuantizedCheckpointReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@code slimq dequantize}: expands a quantized checkpoint in any format slimq reads
 * (compressed-tensors pack-quantized, GPTQ v1/v2 including act-order, slimq native; written by slimq or
 * other tools) back to a float checkpoint, for evaluation in any framework. Quantized weights come
 * back under their original names; everything else is copied through; {@code quantization_config} is
 * removed from config.json.
 */
public final class DequantizeService {
    private DequantizeService() {
    }

    /** What was written: how many weights were expanded, in which dtype, and the output size. */
    public record Result(String format, int weights, String dtype, long outputBytes) {
    }

    /** {@code dtype} empty: config.json's {@code torch_dtype}, else F32. */
    public static Result run(Path input, Path output, Optional<DType> dtype, boolean force, long maxShardBytes, int threads,
                             ProgressListener progress) {
        return run(input, output, dtype, force, maxShardBytes, threads, progress, null);
    }

    /**
     * With {@code fingerprint}: recorded with the output, an earlier slimq result under {@code output}
     * replaced without {@code force}, and an interrupted run with the same fingerprint resumed (its
     * finished tensors kept; see {@link CheckpointWriter}).
     */
    public static Result run(Path input, Path output, Optional<DType> dtype, boolean force, long maxShardBytes, int threads,
                             ProgressListener progress, Fingerprint fingerprint) {
        OutputPaths.check(output, List.of(input), force
                || fingerprint != null && Fingerprint.recorded(output, Fingerprint.OUTPUT).isPresent());
        try (Checkpoint ckpt = Checkpoint.open(input); WorkPool pool = new WorkPool(threads)) {
            QuantizedCheckpointReader reader = QuantFormat.detect(ckpt).orElseThrow(() -> new SlimqException(Failure.UNSUPPORTED,
                    input + " is not quantized in a format slimq reads (compressed-tensors, gptq, slimq); nothing to dequantize"));
            DType target = dtype.orElseGet(() -> modelDtype(ckpt));
            if (target != DType.F32 && target != DType.F16 && target != DType.BF16) {
                throw new SlimqException(Failure.USAGE, "--dtype must be F32, F16 or BF16, not " + target.wireName());
            }
            Set<String> storage = reader.storageTensors();
            Map<String, TensorInfo> weightInfo = new HashMap<>();
            for (String w : reader.weights()) {
                long[] shape = reader.shape(w);
                weightInfo.put(w, TensorInfo.planned(w, target, shape));
            }
            List<TensorInfo> out = new ArrayList<>();
            for (TensorInfo t : ckpt.tensors()) {
                if (!storage.contains(t.name())) {
                    out.add(TensorInfo.planned(t.name(), t.dtype(), t.shape()));
                }
            }
            out.addAll(weightInfo.values().stream().sorted(Comparator.comparing(TensorInfo::name)).toList());
            List<String> jobs = new ArrayList<>();
            for (TensorInfo t : out) {
                jobs.add(t.name());
            }
            long total = out.stream().mapToLong(TensorInfo::byteCount).sum();
            try (CheckpointWriter writer = CheckpointWriter.create(output, out, ckpt.metadata(), maxShardBytes, ckpt, fingerprint)) {
                ProgressTask task = progress.task("dequantize", total, "bytes");
                pool.map(jobs.size(), i -> {
                    String name = jobs.get(i);
                    TensorInfo planned = writer.tensor(name);
                    if (writer.isFinished(name)) { // kept from an interrupted run with the same fingerprint
                        task.advance(planned.byteCount());
                        return null;
                    }
                    try (SafetensorsWriter.TensorSink s = writer.open(name)) {
                        if (weightInfo.containsKey(name)) {
                            float[] w = reader.dequantize(name);
                            s.writeFloats(w, 0, w.length);
                        } else {
                            try (TensorView v = ckpt.map(name)) {
                                s.write(v.segment());
                            }
                        }
                    }
                    task.advance(planned.byteCount());
                    return null;
                });
                if (ckpt.isDirectory() && ckpt.configJson().isPresent()) {
                    ObjectNode config = QuantFormat.DEQUANTIZED.updateConfig((ObjectNode) ckpt.configJson().get(),
                            new QuantizationSummary(List.of(), List.of()));
                    writer.putFile(Checkpoint.CONFIG_FILE, Json.python(config));
                }
                writer.omitFile(QuantizeService.REPORT_FILE); // it described the quantized weights
                writer.commit();
            }
            return new Result(reader.format().name(), weightInfo.size(), target.wireName(), total);
        }
    }

    /** The dtype config.json says the model was trained in, else F32. */
    static DType modelDtype(Checkpoint ckpt) {
        JsonNode c = ckpt.configJson().orElse(null);
        String t = c == null ? "" : c.path("torch_dtype").asText(c.path("dtype").asText(""));
        return switch (t) {
            case "bfloat16" -> DType.BF16;
            case "float16" -> DType.F16;
            default -> DType.F32;
        };
    }
}
