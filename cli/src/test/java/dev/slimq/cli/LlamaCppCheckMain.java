package dev.slimq.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.json.Json;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.tokenizer.Tokenizer;
import dev.slimq.runtime.bert.LinearKernel;
import dev.slimq.runtime.bert.Pooling;
import dev.slimq.runtime.eval.EncoderEval;
import dev.slimq.runtime.llama.LlamaDecoder;
import dev.slimq.runtime.llama.LlamaWeights;
import dev.slimq.testdata.SynthCharsMap;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSentencePiece;
import dev.slimq.testdata.SynthSpec;
import dev.slimq.testdata.SynthUnigram;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * slimq's side of {@code scripts/llamacpp/check.sh} (issue 8, proof in llama.cpp), run from the test
 * classes with the CLI jar on the class path:
 * <ul>
 * <li>{@code spm DIR}: give the Llama checkpoint in DIR the SentencePiece-style tokenizer of
 *     {@link SynthSentencePiece} (the generator's Llama has a byte-level one);</li>
 * <li>{@code logits DIR TEXTS OUT}: for each non-empty line of TEXTS, slimq's token ids (tokenizer.json
 *     with its post-processor, so {@code <s>} first) and slimq's own decoder logits at every position
 *     ({@code runtime.llama}), written as JSON {@code {"texts":[{"text","ids","logits":[[...]...]}]}}
 *     for check.mjs to set beside llama.cpp's;</li>
 * <li>{@code xlmr DIR}: write the tiny XLM-R-style encoder ({@link SynthUnigram}: tiny BERT weights,
 *     Unigram tokenizer) into DIR, with its normalizer made a real XLM-R's {@code Precompiled} charsmap
 *     ({@link SynthCharsMap#usePrecompiled}) so llama.cpp's UGM tokenizer has the charsmap to run;</li>
 * <li>{@code embed DIR TEXTS mean|cls OUT}: slimq's own sentence embeddings of a BERT-family checkpoint
 *     ({@code runtime.bert}, L2-normalized), written as {@code {"embeddings":[[...]...],"tokens":[...],
 *     "ids":[[...]...]}} (token counts and ids with the post-processor's specials), for
 *     {@code compare-embeddings.sh} and {@code check.sh} to set beside llama.cpp's.</li>
 * </ul>
 */
public final class LlamaCppCheckMain {
    private LlamaCppCheckMain() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 2 && args[0].equals("spm")) {
            SynthSentencePiece.writeInto(Path.of(args[1]));
            return;
        }
        if (args.length == 2 && args[0].equals("xlmr")) {
            Path dir = Path.of(args[1]);
            SynthUnigram.write(SynthSpec.tinyBert(), dir, new SynthCheckpoint.Options(true, 1));
            SynthCharsMap.usePrecompiled(dir);
            return;
        }
        if (args.length == 5 && args[0].equals("embed")) {
            embed(Path.of(args[1]), Path.of(args[2]), Pooling.parse(args[3]), Path.of(args[4]));
            return;
        }
        if (args.length != 4 || !args[0].equals("logits")) {
            System.err.println("usage: LlamaCppCheckMain spm DIR | xlmr DIR | logits DIR TEXTS OUT.json | embed DIR TEXTS mean|cls OUT.json");
            System.exit(2);
        }
        Path dir = Path.of(args[1]);
        List<String> texts = Files.readAllLines(Path.of(args[2]), StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).toList();
        Tokenizer tok = Tokenizer.load(dir.resolve("tokenizer.json"));
        ObjectNode root = Json.MAPPER.createObjectNode();
        ArrayNode out = root.putArray("texts");
        try (Checkpoint ck = Checkpoint.open(dir); WorkPool pool = new WorkPool(1)) {
            LlamaDecoder decoder = new LlamaDecoder(LlamaWeights.load(ck), pool, LinearKernel.VECTOR);
            int vocab = decoder.vocab();
            for (String text : texts) {
                int[] ids = tok.encode(text, true).ids();
                float[] logits = decoder.logits(ids);
                ObjectNode t = out.addObject();
                t.put("text", text);
                ArrayNode idArray = t.putArray("ids");
                for (int id : ids) {
                    idArray.add(id);
                }
                ArrayNode rows = t.putArray("logits");
                for (int p = 0; p < ids.length; p++) {
                    ArrayNode row = rows.addArray();
                    for (int v = 0; v < vocab; v++) {
                        row.add(logits[p * vocab + v]);
                    }
                }
            }
        }
        Files.writeString(Path.of(args[3]), Json.MAPPER.writeValueAsString(root), StandardCharsets.UTF_8);
    }

    private static void embed(Path dir, Path textFile, Pooling pooling, Path outFile) throws IOException {
        List<String> texts = Files.readAllLines(textFile, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).toList();
        ObjectNode root = Json.MAPPER.createObjectNode();
        ArrayNode vecs = root.putArray("embeddings");
        ArrayNode tokens = root.putArray("tokens");
        ArrayNode idRows = root.putArray("ids");
        Tokenizer tok = Tokenizer.load(dir.resolve("tokenizer.json"));
        try (WorkPool pool = new WorkPool(1)) {
            EncoderEval.Embedded e = EncoderEval.embed(dir, texts, pooling, pool);
            for (int i = 0; i < texts.size(); i++) {
                ArrayNode row = vecs.addArray();
                for (float v : e.embeddings()[i]) {
                    row.add(v);
                }
                int[] ids = tok.encode(texts.get(i), true).ids();
                tokens.add(ids.length);
                ArrayNode idRow = idRows.addArray();
                for (int id : ids) {
                    idRow.add(id);
                }
            }
        }
        Files.writeString(outFile, Json.MAPPER.writeValueAsString(root), StandardCharsets.UTF_8);
    }
}
