package dev.slimq.cli;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.runtime.bert.Pooling;
import dev.slimq.runtime.bert.TokenReduction;
import dev.slimq.runtime.eval.EncoderEval;
import dev.slimq.runtime.eval.EvalTexts;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code slimq eval}: embeds texts with an encoder and, with {@code --reference}, compares the
 * embeddings with the original model's, the model-level check of a compressed encoder.
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Embed texts with a BERT-family encoder (or measure a decoder's perplexity) and compare with the model it was compressed from.",
        description = {"Float or quantized checkpoints (compressed-tensors, GPTQ, slimq: each weight is dequantized as it is loaded).",
            "Encoders: mean/min cosine and top-10 neighbour overlap against --reference.",
            "Decoders: perplexity of both, per-token KL(reference || model) (mean, p99, max) and top-1 agreement.",
            "Exit 7 when a gate is missed: --min-cosine (encoders), --max-perplexity-ratio / --max-kl (decoders)."})
final class EvalCommand implements Callable<Integer> {
    @ParentCommand
    SlimqCommand parent;

    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions run;

    @Parameters(index = "0", paramLabel = "MODEL", description = "Checkpoint to evaluate (directory with config.json and tokenizer.json).")
    Path model;

    @Option(names = "--reference", paramLabel = "ORIGINAL", description = "The model it was made from: adds the embedding cosine and neighbour agreement.")
    Path reference;

    @Option(names = {"--texts", "--text"}, paramLabel = "FILE", description = "One sentence or passage per line (default: 400 bundled English sentences).")
    Path texts;

    @Option(names = "--pooling", paramLabel = "P", defaultValue = "mean", description = "mean or cls (default: ${DEFAULT-VALUE}).")
    String pooling;

    @Option(names = {"--min-cosine", "--min-cos"}, paramLabel = "C", description = "Fail (exit 7) when the mean cosine against --reference is below C.")
    Double minCosine;

    @Option(names = "--token-reduction", paramLabel = "SPEC", description = {
        "Reduce tokens between encoder layers: tome:r=N (merge N tokens before every layer after the first) or",
        "divprune:keep=F@L (before layer L keep the fraction F). Reports the cosine against --reference",
        "(default: the same model unreduced) and the measured speedup of the reduced forward pass."})
    String tokenReduction;

    @Option(names = "--window", paramLabel = "N", defaultValue = "256",
            description = "Decoders: tokens per perplexity window (capped at the model's context; default: ${DEFAULT-VALUE}).")
    int window;

    @Option(names = {"--max-perplexity-ratio", "--max-ppl-ratio"}, paramLabel = "R",
            description = "Decoders: fail (exit 7) when perplexity / the reference's exceeds R.")
    Double maxPerplexityRatio;

    @Option(names = "--max-kl", paramLabel = "K",
            description = "Decoders: fail (exit 7) when the mean per-token KL(reference || model) exceeds K nats.")
    Double maxKl;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "0",
            description = {"Evaluate only the first N tokens of the texts (default: all). Decoders: the token stream is cut at N;",
                "encoders: the first texts whose tokens (with [CLS]/[SEP]) fit in N, at least one."})
    long maxTokens;

    @Override
    public Integer call() {
        if (isDecoder(model)) {
            return decoder();
        }
        Pooling p = Pooling.parse(pooling);
        if (tokenReduction != null) {
            return reduced(p);
        }
        if (minCosine != null && reference == null) {
            throw new SlimqException(Failure.USAGE, "--min-cosine needs --reference");
        }
        List<String> lines = encoderBudget(texts == null ? EvalTexts.bundled() : EvalTexts.read(texts));
        EncoderEval.Result r = EncoderEval.run(model, reference, lines, p, run.threadCount(), QuantizedWeightSource.OPENER);
        boolean passed = minCosine == null || r.comparison().meanCos() >= minCosine;
        PrintWriter o = spec.commandLine().getOut();
        if (run.json) {
            JsonOutput.print(o, r);
        } else {
            print(o, "model", r.model());
            if (r.reference() != null) {
                print(o, "reference", r.reference());
                EncoderEval.Comparison c = r.comparison();
                o.printf(Locale.ROOT, "cosine (%s pooling): mean %.6f, min %.6f (line %d); top-10 neighbour overlap %.3f%n",
                        r.pooling(), c.meanCos(), c.minCos(), c.minIndex() + 1, c.top10Overlap());
            }
            o.flush();
        }
        if (!passed) {
            PrintWriter err = spec.commandLine().getErr();
            err.printf(Locale.ROOT, "mean cosine %.6f is below --min-cosine %s%n", r.comparison().meanCos(), minCosine);
            err.flush();
            return ExitCode.QUALITY.code();
        }
        return ExitCode.OK.code();
    }

    private Integer reduced(Pooling p) {
        TokenReduction red = TokenReduction.parse(tokenReduction);
        List<String> lines = encoderBudget(texts == null ? EvalTexts.bundled() : EvalTexts.read(texts));
        EncoderEval.ReductionResult r = EncoderEval.runReduced(model, reference, lines, p, run.threadCount(), red,
                QuantizedWeightSource.OPENER);
        PrintWriter o = spec.commandLine().getOut();
        if (run.json) {
            JsonOutput.print(o, r);
        } else {
            StringBuilder layers = new StringBuilder();
            for (double t : r.tokensPerLayer()) {
                layers.append(layers.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, "%.1f", t));
            }
            o.printf(Locale.ROOT, "model %s with %s: %d texts, %d tokens; mean tokens per layer: %s%n", r.model(), r.reduction(), r.texts(),
                    r.tokens(), layers);
            o.printf(Locale.ROOT, "forward: unreduced %.3f s, reduced %.3f s, speedup %.2fx (%d threads, after a warm-up pass)%n",
                    r.baseSeconds(), r.reducedSeconds(), r.speedup(), r.threads());
            EncoderEval.Comparison c = r.comparison();
            o.printf(Locale.ROOT, "cosine vs %s (%s pooling): mean %.6f, min %.6f (line %d); top-10 neighbour overlap %.3f%n",
                    r.reference(), r.pooling(), c.meanCos(), c.minCos(), c.minIndex() + 1, c.top10Overlap());
            o.flush();
        }
        if (minCosine != null && c(r) < minCosine) {
            PrintWriter err = spec.commandLine().getErr();
            err.printf(Locale.ROOT, "mean cosine %.6f is below --min-cosine %s%n", c(r), minCosine);
            err.flush();
            return ExitCode.QUALITY.code();
        }
        return ExitCode.OK.code();
    }

    /** The texts within --max-tokens under the model's own tokenizer ({@link EvalTexts#withinTokens}). */
    private List<String> encoderBudget(List<String> lines) {
        if (maxTokens == 0) {
            return lines;
        }
        Path dir = java.nio.file.Files.isDirectory(model) ? model : model.toAbsolutePath().getParent();
        Path tok = dir.resolve("tokenizer.json");
        if (!java.nio.file.Files.isRegularFile(tok)) {
            throw new SlimqException(Failure.BAD_INPUT, model + ": no tokenizer.json next to the weights; eval needs it");
        }
        return EvalTexts.withinTokens(lines, dev.slimq.core.tokenizer.Tokenizer.load(tok), maxTokens);
    }

    private static double c(EncoderEval.ReductionResult r) {
        return r.comparison().meanCos();
    }

    private static void print(PrintWriter o, String label, EncoderEval.ModelStats s) {
        o.printf(Locale.ROOT, "%s %s (%s, %d layers, hidden %d): %d texts, %d tokens%s in %.2f s (%.1f ms/text, %.0f tokens/s; load %.2f s)%n",
                label, s.path(), s.architecture(), s.layers(), s.hidden(), s.texts(), s.tokens(),
                s.truncated() > 0 ? " (" + s.truncated() + " truncated)" : "", s.seconds(), s.msPerText(), s.tokensPerSecond(),
                s.loadSeconds());
    }

    /** Decoders are judged by perplexity, encoders by embedding agreement. */
    private static boolean isDecoder(java.nio.file.Path path) {
        try (dev.slimq.core.checkpoint.Checkpoint c = dev.slimq.core.checkpoint.Checkpoint.open(path)) {
            // From config.json alone: a quantized checkpoint's packed tensors are not the float layout.
            return c.configJson().map(dev.slimq.core.layout.ModelConfig::of)
                    .map(m -> m.architecture().family() == dev.slimq.core.layout.Architecture.Family.DECODER).orElse(false);
        }
    }

    private int decoder() {
        if (tokenReduction != null || minCosine != null) {
            throw new SlimqException(Failure.USAGE, "--token-reduction and --min-cosine apply to encoders; decoders are judged by perplexity and KL");
        }
        if ((maxPerplexityRatio != null || maxKl != null) && reference == null) {
            throw new SlimqException(Failure.USAGE, "--max-perplexity-ratio and --max-kl need --reference");
        }
        List<String> lines = texts == null ? EvalTexts.bundled() : EvalTexts.read(texts);
        dev.slimq.runtime.eval.DecoderEval.Result r = dev.slimq.runtime.eval.DecoderEval.run(model, reference, lines, window, maxTokens,
                run.threadCount(), QuantizedWeightSource.OPENER);
        if (maxKl != null && r.comparison() == null) {
            throw new SlimqException(Failure.USAGE, "--max-kl: " + r.note());
        }
        boolean pplOk = maxPerplexityRatio == null || r.perplexityRatio() <= maxPerplexityRatio;
        boolean klOk = maxKl == null || r.comparison().klMean() <= maxKl;
        boolean passed = pplOk && klOk;
        PrintWriter o = spec.commandLine().getOut();
        if (run.json) {
            JsonOutput.print(o, r);
        } else {
            for (dev.slimq.runtime.eval.DecoderEval.ModelStats m : r.reference() == null ? List.of(r.model()) : List.of(r.model(), r.reference())) {
                o.printf(java.util.Locale.ROOT, "%s (%s, %d layers): perplexity %.4f over %d tokens (window %d) in %.2f s (%.0f tokens/s;"
                        + " load %.2f s)%n", m.path(), m.architecture(), m.layers(), m.perplexity(), m.tokens(), m.window(), m.seconds(),
                        m.tokensPerSecond(), m.loadSeconds());
            }
            if (r.perplexityRatio() != null) {
                o.printf(java.util.Locale.ROOT, "perplexity ratio %.5f (model / reference)%s%n", r.perplexityRatio(),
                        pplOk ? "" : ", over --max-perplexity-ratio " + maxPerplexityRatio);
            }
            if (r.comparison() != null) {
                var c = r.comparison();
                o.printf(java.util.Locale.ROOT, "KL(reference || model) per token: mean %.6f, p99 %.6f, max %.6f nats%s; top-1 agreement %.4f"
                        + " over %d positions%n", c.klMean(), c.klP99(), c.klMax(), klOk ? "" : " (over --max-kl " + maxKl + ")",
                        c.top1Agreement(), c.positions());
            } else if (r.note() != null) {
                o.println("note: " + r.note());
            }
            o.flush();
        }
        return passed ? ExitCode.OK.code() : ExitCode.QUALITY.code();
    }
}
