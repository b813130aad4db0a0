package dev.slimq.prune.structure;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.safetensors.SafetensorsFile;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The activation statistics written by {@code slimq calibrate}, read by name with core's
 * {@link SafetensorsFile} (prune may not depend on runtime, which writes them).
 *
 * <p>Names: {@code layers.{i}.cos_in_out} (scalar F32: mean cosine of the layer's input and output
 * hidden states) and {@code layers.{i}.{proj}.input_mean|input_var|input_sqmean|input_absmean|input_absmax}
 * ({@code [in]} F32), with {@code proj} the HF module path inside the layer (BERT
 * {@code output.dense}, {@code attention.output.dense}; llama {@code mlp.down_proj},
 * {@code self_attn.o_proj}). The module path is the weight's name with the layer prefix
 * ({@code ….layer.{i}.} or {@code ….layers.{i}.}) and the {@code .weight} suffix removed; this is
 * the only name handling, and only to find the statistics of a tensor the layout already chose.
 *
 * <p>The metadata {@code model_fingerprint} ({@code sha256:} over every shard's 8-byte length and
 * header JSON in shard order, then config.json's bytes, as calibrate computes it) is checked
 * against the checkpoint being pruned when present.
 */
public final class StatisticsFile implements AutoCloseable {
    public static final String MODEL_FINGERPRINT = "model_fingerprint";

    private final Path path;
    private final SafetensorsFile file;

    private StatisticsFile(Path path, SafetensorsFile file) {
        this.path = path;
        this.file = file;
    }

    /** Opens {@code path}; a missing or malformed file is {@link Failure#BAD_INPUT}. */
    public static StatisticsFile open(Path path) {
        if (!Files.isRegularFile(path)) {
            throw new SlimqException(Failure.BAD_INPUT, "--stats " + path + ": no such file");
        }
        return new StatisticsFile(path, SafetensorsFile.open(path));
    }

    public Path path() {
        return path;
    }

    /** Exit 3 unless the file's model fingerprint (when it has one) is the checkpoint's, or {@code ignore}. */
    public void checkFingerprint(Checkpoint ckpt, boolean ignore) {
        String want = file.metadata().get(MODEL_FINGERPRINT);
        if (want == null || ignore) {
            return;
        }
        String have = modelFingerprint(ckpt);
        if (!want.equals(have)) {
            throw new SlimqException(Failure.BAD_INPUT, "--stats " + path + " was computed for another model (model_fingerprint "
                    + want + ", this checkpoint " + have + "); recalibrate, or pass --ignore-fingerprint");
        }
    }

    /** The statistics prefix {@code layers.{i}.{proj}} of a layer's linear weight. */
    public static String moduleKey(int layer, String weightName) {
        Matcher m = Pattern.compile("(?:^|\\.)layers?\\." + layer + "\\.(.+?)(?:\\.weight)?$").matcher(weightName);
        if (!m.find()) {
            throw new SlimqException(Failure.UNSUPPORTED, "cannot find the module path of " + weightName + " inside layer " + layer);
        }
        return "layers." + layer + "." + m.group(1);
    }

    /** Whether the file has the tensor. */
    public boolean has(String name) {
        return file.header().contains(name);
    }

    /** {@code layers.{layer}.cos_in_out}; exit 3 when missing or not a single value. */
    public double cosInOut(int layer) {
        float[] v = read("layers." + layer + ".cos_in_out", 1, true);
        return v[0];
    }

    /** A per-input-column statistic ({@code input_var}, …) of a linear weight with {@code width} inputs; exit 3 when missing or of another width. */
    public float[] input(int layer, String weightName, String stat, long width) {
        return read(moduleKey(layer, weightName) + "." + stat, width, false);
    }

    /** Whether the per-input statistic exists (any width). */
    public boolean hasInput(int layer, String weightName, String stat) {
        return has(moduleKey(layer, weightName) + "." + stat);
    }

    private float[] read(String name, long width, boolean scalar) {
        if (!has(name)) {
            throw new SlimqException(Failure.BAD_INPUT, "--stats " + path + " has no tensor " + name
                    + " (recalibrate this model with slimq calibrate)");
        }
        TensorInfo t = file.tensor(name);
        boolean ok = scalar ? t.elementCount() == 1 && t.rank() <= 1 : t.rank() == 1 && t.dim(0) == width;
        if (!ok || !t.dtype().isFloat()) {
            throw new SlimqException(Failure.BAD_INPUT, "--stats " + path + ": tensor " + name + " is " + t.dtype().wireName() + " "
                    + t.shapeString() + " but " + (scalar ? "a single value" : "[" + width + "]") + " was expected");
        }
        float[] v = new float[Math.toIntExact(t.elementCount())];
        try (TensorView view = file.map(name)) {
            view.readFloats(0, v, 0, v.length);
        }
        for (float f : v) {
            if (!Float.isFinite(f)) {
                throw new SlimqException(Failure.BAD_INPUT, "--stats " + path + ": tensor " + name + " holds a non-finite value");
            }
        }
        return v;
    }

    /** {@code sha256:} of every shard's 8-byte length and header in order, then config.json (calibrate's fingerprint). */
    public static String modelFingerprint(Checkpoint ck) {
        return ck.headerFingerprint();
    }

    @Override
    public void close() {
        file.close();
    }
}
