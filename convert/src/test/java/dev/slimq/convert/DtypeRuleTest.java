package dev.slimq.convert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.convert.gguf.GgmlType;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code convert --dtype-for GLOB=D}: first matching rule wins, then --dtype; unmatched rules are errors. */
class DtypeRuleTest {
    @TempDir
    Path dir;

    private static ConvertService.Options st(Optional<DType> d, String... rules) {
        return new ConvertService.Options(ConvertService.Target.SAFETENSORS, Optional.empty(), d, false, 0, false, 2, Optional.empty(), false,
                List.of(rules).stream().map(DtypeRule::parse).toList());
    }

    @Test
    void parsing() {
        DtypeRule r = DtypeRule.parse("model.layers.?.mlp.*=F16");
        assertEquals(DType.F16, r.dtype());
        assertTrue(r.pattern().matcher("model.layers.1.mlp.up_proj.weight").matches());
        assertTrue(!r.pattern().matcher("model.layers.12.mlp.up_proj.weight").matches(), "? is one character");
        assertTrue(!r.pattern().matcher("xmodel.layers.1.mlp.up_proj.weight").matches(), "globs match the full name");
        assertTrue(DtypeRule.parse("re:.*\\.(q|k)_proj\\.weight=bf16").pattern().matcher("a.q_proj.weight").matches());
        for (String bad : List.of("model.*", "=f16", "model.*=", "model.*=f64x", "model.*=i32", "re:([=f16")) {
            SlimqException e = assertThrows(SlimqException.class, () -> DtypeRule.parse(bad), bad);
            assertEquals(Failure.USAGE, e.failure(), bad);
        }
        SlimqException gguf = assertThrows(SlimqException.class, () -> new ConvertService.Options(ConvertService.Target.GGUF, Optional.of(GgmlType.F16),
                Optional.empty(), false, 0, false, 1, Optional.empty(), false, List.of(DtypeRule.parse("*=f32"))));
        assertEquals(Failure.USAGE, gguf.failure());
    }

    @Test
    void firstMatchWinsThenDtype() {
        Path in = dir.resolve("in");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), in); // BF16 tensors
        Path out = dir.resolve("out");
        ConvertService.run(in, out, st(Optional.of(DType.F16), "model.embed_tokens.*=f32", "model.*=bf16"));
        try (Checkpoint a = Checkpoint.open(in); Checkpoint b = Checkpoint.open(out)) {
            for (TensorInfo t : a.tensors()) {
                DType expected = t.name().startsWith("model.embed_tokens.") ? DType.F32 : t.name().startsWith("model.") ? DType.BF16 : DType.F16;
                assertEquals(expected, b.tensor(t.name()).dtype(), t.name());
            }
            assertEquals(DType.F16, b.tensor("lm_head.weight").dtype());
            // BF16 -> F32 is exact: each F32 word is the BF16 half-word shifted left by 16.
            try (TensorView src = a.map("model.embed_tokens.weight"); TensorView dst = b.map("model.embed_tokens.weight")) {
                long n = a.tensor("model.embed_tokens.weight").elementCount();
                for (long i = 0; i < n; i++) {
                    int bf = src.segment().get(ValueLayout.JAVA_SHORT_UNALIGNED, 2 * i) & 0xFFFF;
                    assertEquals(bf << 16, dst.segment().get(ValueLayout.JAVA_INT_UNALIGNED, 4 * i));
                }
            }
            // BF16 -> BF16 keeps the bytes.
            String norm = "model.layers.0.input_layernorm.weight";
            try (TensorView src = a.map(norm); TensorView dst = b.map(norm)) {
                assertEquals(-1L, src.segment().mismatch(dst.segment()));
            }
        }
    }

    @Test
    void ggufToSafetensorsWithRules() {
        Path in = dir.resolve("in");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), in);
        Path g = dir.resolve("m.gguf");
        ConvertService.run(in, g, new ConvertService.Options(ConvertService.Target.GGUF, Optional.of(GgmlType.F16), Optional.empty(), false, 0, false, 1));
        Path out = dir.resolve("out");
        ConvertService.run(g, out, st(Optional.empty(), "*.mlp.*=f32"));
        try (Checkpoint b = Checkpoint.open(out)) {
            assertEquals(DType.F32, b.tensor("model.layers.1.mlp.down_proj.weight").dtype());
            assertEquals(DType.F16, b.tensor("model.layers.1.self_attn.q_proj.weight").dtype(), "F16 GGUF tensors stay F16 without a rule");
            assertEquals(DType.F32, b.tensor("model.norm.weight").dtype(), "F32 GGUF tensors stay F32");
        }
    }

    @Test
    void ruleMatchingNothingIsAnErrorAndWritesNothing() {
        Path in = dir.resolve("in");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), in);
        Path out = dir.resolve("out");
        SlimqException e = assertThrows(SlimqException.class, () -> ConvertService.run(in, out, st(Optional.of(DType.F16), "*.weight=f32", "encoder.*=bf16")));
        assertEquals(Failure.USAGE, e.failure());
        assertTrue(e.getMessage().contains("'encoder.*' matches no float tensor"), e.getMessage());
        assertTrue(Files.notExists(out));
    }
}
