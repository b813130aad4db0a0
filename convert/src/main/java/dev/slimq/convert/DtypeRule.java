package dev.slimq.convert;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.Text;
import dev.slimq.core.tensor.DType;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One {@code --dtype-for GLOB=D} rule: float tensors whose full name matches {@code GLOB} are written
 * as {@code D}. Rules are tried in the order given and the first match wins; a tensor no rule matches
 * takes {@code --dtype} (or keeps its dtype). The pattern syntax is the one {@code quantize --include}
 * uses ({@code TensorPolicy}): {@code *} any run of characters, {@code ?} one, or a regular
 * expression after {@code re:}.
 *
 * @param spec    the pattern as given, for messages
 * @param pattern the compiled full-name pattern
 * @param dtype   F32, F16, BF16 or F8_E4M3
 */
public record DtypeRule(String spec, Pattern pattern, DType dtype) {
    /** The dtypes a float tensor can be cast to. */
    static final List<DType> CASTABLE = List.of(DType.F32, DType.F16, DType.BF16, DType.F8_E4M3);

    public DtypeRule {
        if (!CASTABLE.contains(dtype)) {
            throw new SlimqException(Failure.USAGE, "--dtype-for dtype must be f32, f16, bf16 or f8_e4m3, not " + dtype.wireName().toLowerCase(Locale.ROOT));
        }
    }

    /** Parses {@code GLOB=D}, e.g. {@code model.embed_tokens.*=f32}; the last {@code =} separates the dtype. */
    public static DtypeRule parse(String s) {
        int eq = s.lastIndexOf('=');
        if (eq <= 0 || eq == s.length() - 1) {
            throw new SlimqException(Failure.USAGE, "--dtype-for takes GLOB=DTYPE (e.g. 'model.embed_tokens.*=f32'), got '" + Text.oneLine(s) + "'");
        }
        String glob = s.substring(0, eq);
        String d = s.substring(eq + 1).strip();
        DType dtype = DType.fromWireName(d.toUpperCase(Locale.ROOT))
                .orElseThrow(() -> new SlimqException(Failure.USAGE, "--dtype-for '" + Text.oneLine(s) + "': unknown dtype '" + Text.oneLine(d)
                        + "'; use f32, f16, bf16 or f8_e4m3"));
        return new DtypeRule(glob, Text.namePattern(glob), dtype);
    }

    /** The first rule matching {@code name}, if any. */
    static Optional<DtypeRule> first(List<DtypeRule> rules, String name) {
        for (DtypeRule r : rules) {
            if (r.pattern.matcher(name).matches()) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }
}
