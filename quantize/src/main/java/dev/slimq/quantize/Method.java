package dev.slimq.quantize;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** The quantization methods of {@code --method} (DESIGN.md section 3); all data-free. */
public enum Method {
    /** Min-max round-to-nearest: the baseline. */
    RTN,
    /** Per-group scale sweep with a least-squares refit (k-quant style). */
    SEARCH,
    /** Outliers as sparse residuals, range of the rest optimized (the default). */
    EASYQUANT,
    /** Adaptive group size per fused group, then easyquant's outlier/range step. */
    FINEQUANT,
    /** Half-quadratic zero-point optimization with the scale fixed; groups only. */
    HQQ;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Method fromName(String s) {
        return Stream.of(values()).filter(m -> m.cliName().equalsIgnoreCase(s.strip())).findFirst()
                .orElseThrow(() -> new SlimqException(Failure.USAGE, "unknown method '" + s + "'; use one of "
                        + Stream.of(values()).map(Method::cliName).collect(Collectors.joining(", "))));
    }
}
