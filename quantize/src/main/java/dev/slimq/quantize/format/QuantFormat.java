package dev.slimq.quantize.format;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.safetensors.SafetensorsWriter.TensorSink;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * An output format for quantized linear weights (DESIGN.md section 3, {@code --format}): which
 * tensors replace a weight, how they are packed, and what {@code quantization_config} describes them.
 *
 * <p>Use is two-phase, because output files are planned (every tensor's name, dtype and shape) before
 * any byte is written: first {@link #refusal} (before quantizing: exit 4 with its message), then
 * {@link #plan} for every weight and {@link #updateConfig} once all are planned (it refuses mixes the
 * format cannot describe, still before any byte is written), then {@link #write} for each weight,
 * which writes exactly the planned tensors. A writer never changes the scheme silently: what it cannot
 * represent it refuses, naming the option to change.
 *
 * <p>{@link #detect} finds the reader for a checkpoint already quantized in one of these formats,
 * including ones written by other tools (llm-compressor, AutoGPTQ, GPTQModel).
 */
public sealed interface QuantFormat permits CompressedTensorsFormat, GptqFormat, SlimqFormat, DequantizedFormat {

    QuantFormat COMPRESSED_TENSORS = new CompressedTensorsFormat();
    QuantFormat GPTQ = new GptqFormat();
    QuantFormat SLIMQ = new SlimqFormat();
    QuantFormat DEQUANTIZED = new DequantizedFormat();

    /** Every format, in the order help texts list them. */
    static List<QuantFormat> all() {
        return List.of(COMPRESSED_TENSORS, GPTQ, SLIMQ, DEQUANTIZED);
    }

    /** The format called {@code name} on the command line; USAGE for any other name. */
    static QuantFormat byName(String name) {
        for (QuantFormat f : all()) {
            if (f.name().equals(name)) {
                return f;
            }
        }
        throw new SlimqException(Failure.USAGE, "unknown format '" + name + "'; expected one of "
                + String.join(", ", all().stream().map(QuantFormat::name).toList()));
    }

    /**
     * The reader for a checkpoint quantized in compressed-tensors pack-quantized, GPTQ (v1 or v2) or
     * slimq format; empty for a float checkpoint. A checkpoint that declares a quantization slimq
     * cannot read (AWQ, other compressed-tensors formats, GPTQ without its config) is UNSUPPORTED or
     * BAD_INPUT rather than empty, so its packed tensors are never mistaken for floats.
     */
    static Optional<QuantizedCheckpointReader> detect(Checkpoint ckpt) {
        return QuantizedCheckpointReader.detect(ckpt);
    }

    /** The {@code --format} name. */
    String name();

    /** The zero mode quantizers must produce for this format. */
    ZeroMode zeroMode();

    /** True when outlier residuals survive into the output (stored, or folded into floats). */
    boolean storesOutliers();

    /** The scale dtype to quantize with for a model whose weights are {@code modelDtype}. */
    DType scaleDtype(DType modelDtype);

    /**
     * Why this format cannot store {@code scheme} for a {@code rows x cols} weight (with outlier
     * residuals when {@code outliers}), naming the option to change; empty when it can.
     */
    Optional<String> refusal(QuantScheme scheme, int rows, int cols, boolean outliers);

    /**
     * The tensors that replace the linear weight {@code weightName}, with exact dtypes and shapes.
     * Throws UNSUPPORTED with the {@link #refusal} message when the format cannot store it.
     */
    List<TensorInfo> plan(String weightName, int rows, int cols, QuantScheme scheme, int outlierCount, DType originalDtype);

    /**
     * Packs {@code q} and writes exactly the tensors {@link #plan} gave for it, each through the sink
     * {@code open} returns for its name (closed here), streaming: nothing larger than one packed
     * tensor is built.
     */
    void write(QuantizedTensor q, DType originalDtype, Function<String, TensorSink> open);

    /**
     * A copy of {@code config} (config.json) whose {@code quantization_config} describes the
     * quantized weights in {@code summary} (removed for {@code dequantized}). UNSUPPORTED when the
     * format cannot describe the mix of schemes.
     */
    ObjectNode updateConfig(ObjectNode config, QuantizationSummary summary);
}
