package dev.slimq.quantize.format;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import java.util.Optional;

/** Checks and messages the writers share, so every format refuses the same thing in the same words. */
final class WriteRules {
    static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private WriteRules() {
    }

    static Optional<String> groupRefusal(QuantScheme s, int cols) {
        return cols % s.groupSize() == 0 ? Optional.empty()
                : Optional.of("group size " + s.groupSize() + " does not divide the " + cols
                        + " columns of this weight; use a --group-size that divides " + cols);
    }

    static String outlierRefusal(String format) {
        return format + " cannot store outlier residuals; use --outliers off (or auto), or --format slimq";
    }

    static String floatZeroRefusal(String format) {
        return format + " stores integer zero points but this scheme has float zeros; quantize with integer zeros"
                + " (the zero mode " + format + " asks for) or use --format slimq";
    }

    /** Throws UNSUPPORTED with the format's refusal, if any. */
    static void require(QuantFormat f, QuantScheme s, int rows, int cols, boolean outliers) {
        Optional<String> why = f.refusal(s, rows, cols, outliers);
        if (why.isPresent()) {
            throw new SlimqException(Failure.UNSUPPORTED, why.get());
        }
    }

    /**
     * {@code "a.b."} for the weight {@code "a.b.weight"}: compressed-tensors and GPTQ name their
     * tensors after the module, so a weight not named {@code <module>.weight} cannot be written.
     */
    static String modulePrefix(String format, String weightName) {
        if (!weightName.endsWith(".weight") || weightName.length() == ".weight".length()) {
            throw new SlimqException(Failure.UNSUPPORTED, format + " names its tensors after the module ('<module>.weight'), but '"
                    + weightName + "' is not such a name; use --format slimq");
        }
        return weightName.substring(0, weightName.length() - "weight".length());
    }

    /** The zeros of an INTEGER-mode tensor as ints, checked to be whole codes. */
    static int[] integerZeros(QuantizedTensor q, String format) {
        float[] z = q.zeros();
        int[] out = new int[z.length];
        int max = q.scheme().maxCode();
        for (int i = 0; i < z.length; i++) {
            float v = z[i];
            if (!(v >= 0 && v <= max) || v != Math.rint(v)) {
                throw new SlimqException(Failure.UNSUPPORTED, q.name() + ": zero " + v + " of group " + i + " is not an integer in [0, "
                        + max + "], which " + format + " cannot store; use --format slimq");
            }
            out[i] = (int) v;
        }
        return out;
    }

    /** Checks that {@code q} is the weight the caller planned (shape and format support). */
    static void requireWritable(QuantFormat f, QuantizedTensor q) {
        require(f, q.scheme(), q.rows(), q.cols(), q.outliers().count() > 0);
    }

    /** A copy of config.json with {@code quantization_config} set (or removed when null). */
    static ObjectNode withQuantizationConfig(ObjectNode config, ObjectNode qc) {
        ObjectNode copy = config.deepCopy();
        if (qc == null) {
            copy.remove("quantization_config");
        } else {
            copy.set("quantization_config", qc);
        }
        return copy;
    }

    static SlimqException unsupported(String message) {
        return new SlimqException(Failure.UNSUPPORTED, message);
    }
}
