package dev.slimq.cli;

import static dev.slimq.cli.CliRun.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.json.Json;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.tokenizer.Tokenizer;
import dev.slimq.runtime.bert.Pooling;
import dev.slimq.runtime.eval.EncoderEval;
import dev.slimq.testdata.SynthCharsMap;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import dev.slimq.testdata.SynthUnigram;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code slimq convert --to gguf} on an XLM-R-style encoder with a SentencePiece Unigram tokenizer, and back:
 * the read-back checkpoint runs in slimq's own encoder with sentence embeddings bit-identical to the
 * original's (F32 GGUF; the position rows the GGUF leaves out are never read), the precompiled charsmap
 * normalizes as before (fullwidth and ligature text), a normalizer llama.cpp cannot run is warned about, and
 * a broken charsmap is a bad-input exit with nothing written. llama.cpp's side is scripts/llamacpp/check.sh.
 */
class XlmrGgufCliTest {
    private static final List<String> TEXTS = List.of(
            "The harbor town woke slowly on cold mornings.",
            "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ and ﬁsh ﬂour… done",
            "naïve café ☃ 日本  twice spaced");

    @TempDir
    Path tmp;

    private Path xlmr(String name, boolean precompiled) {
        Path in = tmp.resolve(name);
        SynthUnigram.write(SynthSpec.tinyBert(), in, new SynthCheckpoint.Options(false, 1));
        if (precompiled) {
            SynthCharsMap.usePrecompiled(in);
        }
        return in;
    }

    @Test
    void ggufReadBackEmbedsBitIdentically() throws IOException {
        Path in = xlmr("xlmr", true);
        Path g = tmp.resolve("x.gguf");
        CliRun r = run("convert", in.toString(), g.toString(), "--to", "gguf", "--type", "f32", "--json");
        assertEquals(0, r.code(), r.err());
        assertFalse(r.err().contains("warning"), r.err());
        JsonNode j = Json.MAPPER.readTree(r.out());
        assertEquals("gguf", j.path("to").asText(), r.out());

        Path back = tmp.resolve("back");
        r = run("convert", g.toString(), back.toString(), "--to", "safetensors", "-q");
        assertEquals(0, r.code(), r.err());
        for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
            Files.copy(in.resolve(f), back.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        // The charsmap is live: fullwidth "ＡＢＣ" tokenizes as "ABC" does.
        Tokenizer tok = Tokenizer.load(back.resolve("tokenizer.json"));
        assertArrayEquals(tok.encode("ABC fish", true).ids(), tok.encode("ＡＢＣ ﬁsh", true).ids());
        try (WorkPool pool = new WorkPool(1)) {
            float[][] a = EncoderEval.embed(in, TEXTS, Pooling.MEAN, pool).embeddings();
            float[][] b = EncoderEval.embed(back, TEXTS, Pooling.MEAN, pool).embeddings();
            for (int i = 0; i < TEXTS.size(); i++) {
                assertArrayEquals(a[i], b[i], 0f, TEXTS.get(i));
            }
        }
    }

    @Test
    void normalizersLlamaCppCannotRunAreWarnedAbout() {
        Path in = xlmr("plain", false); // Nmt + NFKC written as plain normalizers
        Path g = tmp.resolve("p.gguf");
        CliRun r = run("convert", in.toString(), g.toString(), "--to", "gguf", "-q");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("slimq: warning: ") && r.err().contains("Nmt, NFKC"), r.err());
        assertTrue(Files.isRegularFile(g));
    }

    @Test
    void aBrokenCharsmapIsBadInputAndWritesNothing() throws IOException {
        Path in = xlmr("broken", true);
        ObjectNode tj = (ObjectNode) Json.MAPPER.readTree(in.resolve("tokenizer.json").toFile());
        ((ObjectNode) tj.path("normalizer").path("normalizers").get(0)).put("precompiled_charsmap", "%%% not base64");
        Files.writeString(in.resolve("tokenizer.json"), Json.python(tj));
        Path g = tmp.resolve("b.gguf");
        CliRun r = run("convert", in.toString(), g.toString(), "--to", "gguf");
        assertEquals(ExitCode.BAD_INPUT.code(), r.code(), r.err());
        assertTrue(r.err().contains("precompiled_charsmap is not base64"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertFalse(Files.exists(g));
    }
}
