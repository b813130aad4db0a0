package dev.slimq.cli;

import dev.slimq.prune.vocab.VocabTrimmer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code slimq trim-vocab}: drops unused vocabulary rows (see {@link VocabTrimmer}). Errors are
 * {@link dev.slimq.core.SlimqException}s thrown by the trimmer (USAGE for bad options, UNSUPPORTED for
 * tokenizer models it cannot trim). WordPiece, byte-level BPE, SentencePiece-style BPE and Unigram are trimmed.
 */
@Command(name = "trim-vocab", mixinStandardHelpOptions = true,
        header = "Keep only the tokens a corpus or id list needs: smaller embedding and output head, same outputs for kept tokens.",
        description = {"Kept: the given ids, corpus tokens seen at least --min-count times, every special/added token, "
                + "byte-level BPE's 256 byte tokens and every token on a kept token's BPE merge path; for Unigram "
                + "tokenizers the scores, <unk>, the <0xNN> byte pieces (byte_fallback) and the lowest-scoring piece, "
                + "so the corpus is segmented exactly as before. "
                + "Rows are copied byte for byte; new ids follow the original order; the vocabulary is padded "
                + "with unused zero rows to a multiple of --multiple-of."})
final class TrimVocabCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions run;

    @Mixin
    IncrementalOptions incremental;

    @Parameters(index = "0", paramLabel = "IN", description = "Checkpoint directory with tokenizer.json.")
    Path in;

    @Parameters(index = "1", paramLabel = "OUT", description = "Output directory.")
    Path out;

    @Option(names = "--keep-ids", paramLabel = "FILE", description = "Token ids to keep, one per line (repeatable).")
    List<Path> keepIds = new ArrayList<>();

    @Option(names = "--corpus", paramLabel = "TEXT", description = "Text file whose tokens are kept (repeatable).")
    List<Path> corpora = new ArrayList<>();

    @Option(names = "--min-count", paramLabel = "N", defaultValue = "1",
            description = "Keep a corpus token occurring at least N times (default: 1).")
    int minCount;

    @Option(names = "--multiple-of", paramLabel = "M", defaultValue = "64",
            description = "Pad the new vocabulary size to a multiple of M with unused rows (default: 64).")
    int multipleOf;

    @Option(names = "--force", description = "Redo the work and replace OUT even when it is up to date, or was not written by slimq.")
    boolean force;

    @Override
    public Integer call() {
        IncrementalOptions.Started started = incremental.start(spec, IncrementalOptions.inputsOf(in, keepIds, corpora), out, force, run.json);
        if (started.upToDate()) {
            return ExitCode.OK.code();
        }
        VocabTrimmer.Result r = VocabTrimmer.run(in, out,
                new VocabTrimmer.Options(keepIds, corpora, minCount, multipleOf, started.replace()));
        started.record();
        PrintWriter o = spec.commandLine().getOut();
        if (run.json) {
            JsonOutput.print(o, r);
        } else {
            o.printf(Locale.ROOT, "trimmed %s (%s) -> %s%n", in, r.tokenizerModel(), out);
            o.printf(Locale.ROOT, "  tokens:     %,d -> %,d (%,d requested; the rest are special, byte or merge-path tokens)%n",
                    r.tokensBefore(), r.tokensAfter(), r.requested());
            o.printf(Locale.ROOT, "  vocab rows: %,d -> %,d (%,d zero padding rows, unused by any token)%n",
                    r.vocabSizeBefore(), r.vocabSizeAfter(), r.padRows());
            if (r.tokenizerModel().equals("BPE")) {
                o.printf(Locale.ROOT, "  merges:     %,d -> %,d%n", r.mergesBefore(), r.mergesAfter());
            }
            o.printf(Locale.ROOT, "  parameters: %,d -> %,d (%.1f%% fewer) in %s%n", r.parametersBefore(), r.parametersAfter(),
                    100.0 * (r.parametersBefore() - r.parametersAfter()) / Math.max(1, r.parametersBefore()),
                    String.join(", ", r.trimmedTensors()));
            o.flush();
        }
        return ExitCode.OK.code();
    }
}
