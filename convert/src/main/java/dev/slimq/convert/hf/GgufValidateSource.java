package dev.slimq.convert.hf;

import dev.slimq.convert.gguf.GgmlType;
import dev.slimq.convert.gguf.GgufFile;
import dev.slimq.convert.gguf.GgufQuantized;
import dev.slimq.convert.gguf.GgufTensorInfo;
import dev.slimq.convert.gguf.GgufValue;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.Text;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.quantize.ValidateService;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A GGUF file's quantized weights for {@code slimq validate}: every Q4_0, Q4_1 and Q8_0 tensor as the
 * logical form the fused kernels run ({@link GgufQuantized#toLogical}, repacked into the kernels' tiled
 * layout by the backend), its kernel error measured against the blocks' exact values
 * ({@link GgufQuantized#exactMatmul}). F32/F16/BF16 tensors are not quantized and are skipped, as
 * validate skips float tensors of a checkpoint; weights are reported in file order (the model's layer
 * order, as the converter writes it). Any other block type (Q4_K, Q6_K) is refused when the
 * file is opened, before anything runs.
 *
 * <p>Against {@code --reference}, weights are looked up under their Hugging Face names
 * ({@link GgufArch#hfName}, and with BERT's optional {@code bert.} prefix), and the rows of llama's
 * Q/K projections, which the converter permuted into ggml's interleaved order, are compared with the
 * original's rows permuted the same way ({@link GgufArch#permuteRows}): both products then list the
 * same outputs in the same order, and the norm-wise error is the one in Hugging Face order.
 */
public final class GgufValidateSource implements ValidateService.Source, AutoCloseable {
    private final GgufFile file;
    private final List<String> weights;

    private GgufValidateSource(GgufFile file, List<String> weights) {
        this.file = file;
        this.weights = weights;
    }

    /** Opens {@code path}; UNSUPPORTED for a block type the kernels do not run or a file with no quantized weight. */
    public static GgufValidateSource open(Path path) {
        GgufFile f = GgufFile.open(path);
        try {
            List<String> names = new ArrayList<>();
            for (GgufTensorInfo t : f.tensors()) {
                if (t.type() == GgmlType.F32 || t.type() == GgmlType.F16 || t.type() == GgmlType.BF16) {
                    continue;
                }
                if (!GgufQuantized.runsOnKernels(t.type()) || t.dims().length != 2) {
                    GgufQuantized.toLogical(t, f.data(t)); // throws the UNSUPPORTED that names the tensor and why
                }
                names.add(t.name());
            }
            if (names.isEmpty()) {
                throw new SlimqException(Failure.UNSUPPORTED, path + " holds no quantized weights (its tensors are F32, F16 or BF16)");
            }
            return new GgufValidateSource(f, List.copyOf(names));
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
    }

    @Override
    public String format() {
        return "GGUF";
    }

    @Override
    public List<String> weights() {
        return weights;
    }

    private GgufTensorInfo info(String weight) {
        return file.tensor(weight).orElseThrow(() -> new IllegalArgumentException("no tensor " + weight));
    }

    @Override
    public long[] shape(String weight) {
        return info(weight).shape();
    }

    @Override
    public QuantizedTensor read(String weight) {
        GgufTensorInfo t = info(weight);
        return GgufQuantized.toLogical(t, file.data(t));
    }

    @Override
    public float[] dequantize(String weight) {
        return file.readFloats(info(weight));
    }

    @Override
    public double[] exactMatmul(String weight, QuantizedTensor q, float[] x, int batch) {
        GgufTensorInfo t = info(weight);
        return GgufQuantized.exactMatmul(t, file.data(t), x, batch);
    }

    private GgufArch arch() {
        String name = file.get("general.architecture").map(v -> v.value() instanceof String s ? s : "").orElse("");
        try {
            return GgufArch.ofGguf(name);
        } catch (SlimqException e) {
            throw new SlimqException(Failure.UNSUPPORTED, file.path() + ": comparing GGUF architecture '" + Text.oneLine(name)
                    + "' with a Hugging Face checkpoint is not supported (llama, qwen2, bert are)");
        }
    }

    @Override
    public List<String> referenceNames(String weight) {
        GgufArch arch = arch();
        String hf = arch.hfName(weight);
        return arch == GgufArch.BERT ? List.of(hf, "bert." + hf) : List.of(hf);
    }

    @Override
    public float[] alignReference(String weight, float[] original, int rows, int cols) {
        GgufArch arch = arch();
        if (!arch.permutesQk()) {
            return original;
        }
        String hf = arch.hfName(weight);
        String p = arch.ggufName() + ".attention.";
        int heads = count(p + "head_count");
        int kv = file.get(p + "head_count_kv").isPresent() ? count(p + "head_count_kv") : heads;
        int h = hf.matches(".*self_attn\\.q_proj\\.weight") ? heads : hf.matches(".*self_attn\\.k_proj\\.weight") ? kv : 0;
        return h == 0 ? original : GgufArch.permuteRows(original, rows, cols, h, false);
    }

    private int count(String key) {
        Optional<GgufValue> v = file.get(key);
        if (v.isEmpty() || !(v.get().value() instanceof Long n) || n <= 0 || n > Integer.MAX_VALUE) {
            throw new SlimqException(Failure.BAD_INPUT, file.path() + ": '" + key + "' is missing or not a positive integer");
        }
        return (int) (long) v.get().value();
    }

    @Override
    public void close() {
        file.close();
    }
}
