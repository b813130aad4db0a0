package dev.slimq.runtime.llama;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;

/**
 * One rotary position embedding: the inverse frequencies of the {@code headDim / 2} rotated pairs
 * and the factor cos and sin are multiplied by (YaRN's attention scaling; 1 otherwise). Rotation of
 * pair {@code i} at position {@code p} is by the angle {@code p * invFreq[i]}.
 *
 * <p>{@link #of} reads the config's {@code rope_scaling} (or transformers 5's flat
 * {@code rope_parameters}) as transformers' {@code ROPE_INIT_FUNCTIONS} do: {@code default},
 * {@code linear} (frequencies divided by {@code factor}), {@code llama3} (low frequencies divided by
 * {@code factor}, high ones kept, a smooth blend between {@code low_freq_factor} and
 * {@code high_freq_factor} wavelengths of {@code original_max_position_embeddings}) and {@code yarn}
 * (interpolated and extrapolated frequencies blended by a linear ramp between the correction
 * dimensions of {@code beta_fast} and {@code beta_slow} rotations, floor/ceil, plus the attention
 * factor {@code 0.1 ln(factor) + 1} unless {@code attention_factor} or {@code mscale}/{@code mscale_all_dim}
 * say otherwise). {@code dynamic} scaling changes with the sequence length beyond the original
 * window and is refused: evaluation windows are fixed and usually inside it, where it is the default.
 * YaRN's {@code factor} is taken as written (not recomputed from {@code max_position_embeddings}).
 */
public record Rope(double[] invFreq, double attentionFactor) {

    /** The plain rotary embedding of base {@code theta}. */
    public static Rope plain(double theta, int headDim) {
        return new Rope(baseFreq(theta, headDim), 1.0);
    }

    /** The rotary embedding the config describes ({@code scaling} may be missing or null for none). */
    public static Rope of(JsonNode scaling, double theta, int headDim, int maxPositions) {
        double[] inv = baseFreq(theta, headDim);
        if (scaling == null || scaling.isMissingNode() || scaling.isNull()) {
            return new Rope(inv, 1.0);
        }
        String type = scaling.path("rope_type").asText(scaling.path("type").asText("default"));
        switch (type) {
            case "default":
                return new Rope(inv, 1.0);
            case "linear": {
                double factor = need(scaling, "factor");
                for (int i = 0; i < inv.length; i++) {
                    inv[i] /= factor;
                }
                return new Rope(inv, 1.0);
            }
            case "llama3": {
                double factor = need(scaling, "factor");
                double low = need(scaling, "low_freq_factor");
                double high = need(scaling, "high_freq_factor");
                double old = need(scaling, "original_max_position_embeddings");
                double lowWavelen = old / low;
                double highWavelen = old / high;
                for (int i = 0; i < inv.length; i++) {
                    double wavelen = 2 * Math.PI / inv[i];
                    if (wavelen > lowWavelen) {
                        inv[i] = inv[i] / factor;
                    } else if (wavelen >= highWavelen) {
                        double smooth = (old / wavelen - low) / (high - low);
                        inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
                    }
                }
                return new Rope(inv, 1.0);
            }
            case "yarn": {
                double factor = need(scaling, "factor");
                double betaFast = scaling.path("beta_fast").asDouble(32);
                double betaSlow = scaling.path("beta_slow").asDouble(1);
                double original = scaling.path("original_max_position_embeddings").asDouble(maxPositions);
                double attention;
                if (scaling.path("attention_factor").isNumber()) {
                    attention = scaling.path("attention_factor").asDouble();
                } else if (scaling.path("mscale").isNumber() && scaling.path("mscale_all_dim").isNumber()) {
                    attention = mscale(factor, scaling.path("mscale").asDouble()) / mscale(factor, scaling.path("mscale_all_dim").asDouble());
                } else {
                    attention = mscale(factor, 1);
                }
                double lo = Math.max(Math.floor(correctionDim(betaFast, headDim, theta, original)), 0);
                double hi = Math.min(Math.ceil(correctionDim(betaSlow, headDim, theta, original)), headDim - 1);
                if (lo == hi) {
                    hi += 0.001;
                }
                for (int i = 0; i < inv.length; i++) {
                    double ramp = Math.min(1, Math.max(0, (i - lo) / (hi - lo)));
                    double extrapolation = 1 - ramp;
                    inv[i] = inv[i] / factor * (1 - extrapolation) + inv[i] * extrapolation;
                }
                return new Rope(inv, attention);
            }
            default:
                throw new SlimqException(Failure.UNSUPPORTED, "rope_scaling '" + type
                        + "' is not implemented (default, linear, llama3 and yarn are)");
        }
    }

    private static double[] baseFreq(double theta, int headDim) {
        double[] inv = new double[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
        }
        return inv;
    }

    private static double mscale(double factor, double m) {
        return factor <= 1 ? 1.0 : 0.1 * m * Math.log(factor) + 1.0;
    }

    /** The dimension whose wavelength fits {@code rotations} times into {@code maxPositions}. */
    private static double correctionDim(double rotations, int dim, double base, double maxPositions) {
        return dim * Math.log(maxPositions / (rotations * 2 * Math.PI)) / (2 * Math.log(base));
    }

    private static double need(JsonNode scaling, String key) {
        if (!scaling.path(key).isNumber()) {
            throw new SlimqException(Failure.BAD_INPUT, "rope_scaling has no numeric '" + key + "'");
        }
        return scaling.path(key).asDouble();
    }
}
