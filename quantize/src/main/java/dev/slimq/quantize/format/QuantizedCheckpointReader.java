package dev.slimq.quantize.format;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.slimq.core.IoFailures;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.tensor.TensorInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The quantized weights of a checkpoint in one of the {@link QuantFormat}s, whoever wrote it: each
 * as the logical {@link QuantizedTensor} when the format's content fits it, and always as floats.
 * It reads through the checkpoint (which the caller keeps open and closes) and checks every shape,
 * dtype and index it uses: a malformed file is BAD_INPUT naming the tensor, a valid one using
 * something slimq does not handle is UNSUPPORTED.
 */
public sealed interface QuantizedCheckpointReader permits CompressedTensorsReader, GptqReader, SlimqReader {

    /** The format the checkpoint is in. */
    QuantFormat format();

    /** The quantized weights, named as the float weights they replace ({@code "m.q_proj.weight"}), sorted. */
    List<String> weights();

    /** {@code [rows, cols]} of a quantized weight. */
    long[] shape(String weight);

    /** Every tensor the reader interprets (packed codes, scales, zeros, group indices, metadata): the rest of the checkpoint is plain. */
    Set<String> storageTensors();

    /**
     * The logical form of one weight. UNSUPPORTED when the checkpoint stores it in a way the logical form
     * cannot express (GPTQ act-order group indices, code widths other than 2/3/4/8 bits): use
     * {@link #dequantize} for those.
     */
    QuantizedTensor read(String weight);

    /** One weight as row-major floats {@code [rows * cols]}, for any group index the file uses. */
    float[] dequantize(String weight);

    /**
     * Finds the reader for {@code ckpt}: by {@code quantization_config.quant_method} in config.json
     * ({@code compressed-tensors}, {@code gptq}, {@code slimq}), else by GPTQ's legacy
     * {@code quantize_config.json}, else by slimq's self-describing {@code .qmeta} tensors. Packed
     * tensors of another format without a config saying how to read them are BAD_INPUT; a
     * {@code quant_method} slimq cannot read is UNSUPPORTED. Empty for a float checkpoint.
     */
    static Optional<QuantizedCheckpointReader> detect(Checkpoint ckpt) {
        JsonNode qc = ckpt.configJson().map(c -> c.get("quantization_config")).orElse(null);
        if (qc != null && !qc.isNull()) {
            if (!qc.isObject()) {
                throw TensorData.bad("config.json: quantization_config is not an object");
            }
            String method = qc.path("quant_method").asText("");
            return Optional.of(switch (method) {
                case CompressedTensorsFormat.NAME -> CompressedTensorsReader.open(ckpt, qc);
                case GptqFormat.NAME -> GptqReader.open(ckpt, qc);
                case SlimqFormat.NAME -> SlimqReader.open(ckpt, qc);
                default -> throw TensorData.unsupported("config.json: quant_method '" + method
                        + "' is not supported; slimq reads compressed-tensors (pack-quantized), gptq and slimq checkpoints");
            });
        }
        if (ckpt.isDirectory()) {
            Path legacy = ckpt.root().resolve("quantize_config.json");
            if (Files.isRegularFile(legacy)) {
                return Optional.of(GptqReader.open(ckpt, readJson(legacy)));
            }
        }
        boolean packedCt = false;
        boolean packedGptq = false;
        for (TensorInfo t : ckpt.tensors()) {
            if (t.name().endsWith(SlimqFormat.META)) {
                return Optional.of(SlimqReader.open(ckpt, null));
            }
            packedCt |= t.name().endsWith(".weight_packed");
            packedGptq |= t.name().endsWith(".qweight");
        }
        if (packedCt || packedGptq) {
            throw TensorData.bad((packedCt ? "compressed-tensors (.weight_packed)" : "GPTQ-style (.qweight)")
                    + " tensors but no quantization_config in config.json saying how they are packed");
        }
        return Optional.empty();
    }

    private static JsonNode readJson(Path p) {
        try {
            JsonNode n = new ObjectMapper().readTree(p.toFile());
            if (n == null || !n.isObject()) {
                throw TensorData.bad(p + ": not a JSON object");
            }
            return n;
        } catch (JsonProcessingException e) {
            throw TensorData.bad(p + ": not valid JSON (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw IoFailures.wrap("read", p, e);
        }
    }
}
