package dev.slimq.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The OpenCL C sources, one resource per kernel family ({@code quant.cl}, {@code dense.cl},
 * {@code stream.cl}) behind the shared prelude {@code common.cl}, and their assembly into programs:
 * a family body is instantiated once per variant between {@code #define}s of its parameters, so one
 * program build serves every layer shape (shapes, group sizes and flags are kernel arguments).
 */
final class KernelSources {
    private KernelSources() {
    }

    /** Flag bits of the product kernels; they mirror the SLIMQ_* flags in common.cl. */
    static final int FLAG_HALF_SCALES = 1;
    static final int FLAG_GROUP_ZEROS = 2;
    static final int FLAG_RESIDUALS = 4;
    static final int FLAG_HALF_RESIDUAL = 8;
    static final int FLAG_TRY_SUBGROUPS = 16;
    static final int FLAG_HALF_X = 32;

    /** One kernel of a program: its name and the values of the family's parameters. */
    record Variant(String name, Map<String, Integer> params) {
    }

    static String resource(String file) {
        try (InputStream in = KernelSources.class.getResourceAsStream(file)) {
            if (in == null) {
                throw new IllegalStateException("kernel source " + file + " is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code common.cl} followed by {@code family} instantiated for each variant. */
    static String assemble(String family, List<Variant> variants) {
        String body = resource(family);
        StringBuilder sb = new StringBuilder(resource("common.cl"));
        for (Variant v : variants) {
            sb.append("\n#define KNAME ").append(v.name()).append('\n');
            v.params().forEach((k, val) -> sb.append("#define ").append(k).append(' ').append(val).append('\n'));
            sb.append("#line 1\n").append(body).append('\n');
            sb.append("#undef KNAME\n");
            v.params().keySet().forEach(k -> sb.append("#undef ").append(k).append('\n'));
        }
        return sb.toString();
    }

    /** Name of the quantized kernel for {@code bits} (2, 4, 8) and batch form. */
    static String quantName(int bits, boolean gemm) {
        return "q" + bits + (gemm ? "_gemm" : "_gemv");
    }

    /** Name of the float kernel for f16 or f32 weights and batch form. */
    static String denseName(boolean halfW, boolean gemm) {
        return (halfW ? "f16" : "f32") + (gemm ? "_gemm" : "_gemv");
    }

    static String quantProgram(LaunchPolicy p) {
        List<Variant> vs = new java.util.ArrayList<>();
        for (int bits : new int[] {2, 4, 8}) {
            for (boolean gemm : new boolean[] {false, true}) {
                Map<String, Integer> m = new LinkedHashMap<>();
                m.put("BITS", bits);
                m.put("RB", gemm ? p.gemmRows() : p.gemvRows());
                m.put("NB", gemm ? p.gemmCols() : 1);
                vs.add(new Variant(quantName(bits, gemm), m));
            }
        }
        return assemble("quant.cl", vs);
    }

    static String denseProgram(LaunchPolicy p) {
        List<Variant> vs = new java.util.ArrayList<>();
        for (boolean hw : new boolean[] {true, false}) {
            for (boolean gemm : new boolean[] {false, true}) {
                Map<String, Integer> m = new LinkedHashMap<>();
                m.put("WHALF", hw ? 1 : 0);
                m.put("RB", gemm ? p.gemmRows() : p.gemvRows());
                m.put("NB", gemm ? p.gemmCols() : 1);
                vs.add(new Variant(denseName(hw, gemm), m));
            }
        }
        return assemble("dense.cl", vs);
    }

    static String streamProgram() {
        return resource("common.cl") + "\n" + resource("stream.cl");
    }

    /** Build options: the vector width, and sub-groups when the device has them. */
    static String options(int width, boolean subGroups) {
        return "-DW=" + width + (subGroups ? " -DSLIMQ_SUBGROUPS=1" : "");
    }
}
