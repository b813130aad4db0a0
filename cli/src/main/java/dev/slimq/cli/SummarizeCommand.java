package dev.slimq.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.slimq.core.Failure;
import dev.slimq.core.IoFailures;
import dev.slimq.core.SlimqException;
import dev.slimq.core.json.Json;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code slimq summarize}: one table row per compressed output directory, from what slimq wrote there
 * (quantization-report.json, config.json, the weight files) and, when present, the validate and eval
 * reports next to or inside it. Reads only; never opens a tensor.
 */
@Command(name = "summarize", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Summarize compressed output directories as one table: bits per weight, size, quality, time.",
        description = {"For each OUT_DIR reads quantization-report.json, config.json (model_type), the sizes of *.safetensors and *.gguf,",
            "and when present validate's report (OUT_DIR/validation.json or OUT_DIR.validation.json, from `validate --report`),",
            "eval's JSON (OUT_DIR/eval.json or OUT_DIR.eval.json, from `eval --json`) and quantize's JSON",
            "(OUT_DIR/quantize.json or OUT_DIR.quantize.json, from `quantize --json`: the time). Missing values show as '-'.",
            "Rows are sorted by path. A directory that is not a checkpoint exits 3."})
final class SummarizeCommand implements Callable<Integer> {
    /** The version of the {@code --json} document. */
    static final int SCHEMA_VERSION = 1;

    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions run;

    @Parameters(index = "0..*", arity = "1..*", paramLabel = "OUT_DIR", description = "Compressed output directories.")
    List<Path> dirs;

    @Option(names = "--markdown", paramLabel = "FILE", description = "Write the Markdown table to FILE instead of stdout.")
    Path markdown;

    /** One output directory. Absent values are null (omitted from JSON, '-' in Markdown). */
    record Row(String path, String modelType, String method, String format, Double bitsPerWeight, Double meanSqnrDb,
               Integer tensorCount, Long storedBytes, long weightBytes, Boolean validationPassed, Double worstOutputRelError,
               Double evalMeanCos, Double quantizeSeconds) {
    }

    /** The {@code --json} document. */
    record Summary(int schemaVersion, List<Row> rows) {
    }

    @Override
    public Integer call() {
        List<Row> rows = new ArrayList<>();
        for (Path d : dirs.stream().map(Path::normalize).distinct().sorted(Comparator.comparing(Path::toString)).toList()) {
            rows.add(row(d));
        }
        String md = markdown(rows);
        if (markdown != null) {
            writeAtomically(markdown, md);
            if (!run.quiet && !run.json) {
                PrintWriter err = spec.commandLine().getErr();
                err.println("slimq: wrote " + markdown + " (" + rows.size() + (rows.size() == 1 ? " row)" : " rows)"));
                err.flush();
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (run.json) {
            JsonOutput.print(out, new Summary(SCHEMA_VERSION, rows));
        } else if (markdown == null) {
            out.print(md);
            out.flush();
        }
        return ExitCode.OK.code();
    }

    static Row row(Path dir) {
        if (!Files.exists(dir)) {
            throw new SlimqException(Failure.IO, dir + ": no such directory");
        }
        if (!Files.isDirectory(dir)) {
            throw new SlimqException(Failure.BAD_INPUT, dir + ": not a checkpoint directory (a file)");
        }
        long weightBytes = 0;
        int weightFiles = 0;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : s.sorted().toList()) {
                String n = f.getFileName().toString();
                if (!n.startsWith(".") && (n.endsWith(".safetensors") || n.endsWith(".gguf")) && Files.isRegularFile(f)) {
                    weightBytes += Files.size(f);
                    weightFiles++;
                }
            }
        } catch (IOException e) {
            throw IoFailures.wrap("list", dir, e);
        }
        Path config = dir.resolve("config.json");
        Path report = dir.resolve("quantization-report.json");
        if (weightFiles == 0 || !(Files.isRegularFile(config) || Files.isRegularFile(report))) {
            throw new SlimqException(Failure.BAD_INPUT, dir + ": not a checkpoint directory (needs config.json or quantization-report.json"
                    + " and *.safetensors or *.gguf weights)");
        }
        JsonNode cfg = readJson(config);
        JsonNode rep = readJson(report);
        JsonNode val = readJson(firstExisting(dir, "validation.json"));
        JsonNode ev = readJson(firstExisting(dir, "eval.json"));
        JsonNode q = readJson(firstExisting(dir, "quantize.json"));
        Double worst = null;
        if (val != null && val.path("layers").isArray()) {
            for (JsonNode l : val.get("layers")) {
                Double e = num(l.get("output_rel_error"));
                if (e != null && (worst == null || e > worst)) {
                    worst = e;
                }
            }
        }
        return new Row(dir.toString(),
                cfg == null ? null : text(cfg.get("model_type")),
                rep == null ? null : text(rep.get("method")),
                rep == null ? null : text(rep.get("format")),
                rep == null ? null : num(rep.get("bits_per_weight")),
                rep == null ? null : num(rep.get("mean_sqnr_db")),
                rep == null || !rep.path("tensor_count").canConvertToInt() ? null : rep.get("tensor_count").intValue(),
                rep == null || !rep.path("stored_bytes").canConvertToLong() ? null : rep.get("stored_bytes").longValue(),
                weightBytes,
                val == null || !val.path("passed").isBoolean() ? null : val.get("passed").booleanValue(),
                worst,
                ev == null ? null : num(ev.path("comparison").get("mean_cos")),
                q == null ? null : num(q.path("timings").get("total_seconds")));
    }

    /** {@code dir/name}, else the sibling {@code dir.name} (next to the output, e.g. from a Makefile), else null. */
    private static Path firstExisting(Path dir, String name) {
        Path inside = dir.resolve(name);
        if (Files.isRegularFile(inside)) {
            return inside;
        }
        Path abs = dir.toAbsolutePath().normalize();
        if (abs.getFileName() == null) {
            return null;
        }
        Path sibling = dir.resolveSibling(abs.getFileName() + "." + name);
        return Files.isRegularFile(sibling) ? sibling : null;
    }

    private static JsonNode readJson(Path p) {
        if (p == null || !Files.isRegularFile(p)) {
            return null;
        }
        try {
            JsonNode n = Json.MAPPER.readTree(Files.readString(p));
            if (n == null || !n.isObject()) {
                throw new SlimqException(Failure.BAD_INPUT, p + ": not a JSON object");
            }
            return n;
        } catch (JsonProcessingException e) {
            throw new SlimqException(Failure.BAD_INPUT, p + ": invalid JSON at line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr());
        } catch (IOException e) {
            throw IoFailures.wrap("read", p, e);
        }
    }

    private static String text(JsonNode n) {
        return n != null && n.isTextual() ? n.textValue() : null;
    }

    /** A finite number, or null (absent, NaN written as a string or a number, not a number). */
    private static Double num(JsonNode n) {
        if (n == null || !(n.isNumber() || n.isTextual())) {
            return null;
        }
        double v;
        if (n.isNumber()) {
            v = n.doubleValue();
        } else {
            try {
                v = Double.parseDouble(n.textValue());
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return Double.isFinite(v) ? v : null;
    }

    static String markdown(List<Row> rows) {
        Map<String, Boolean> cols = new LinkedHashMap<>(); // header -> right-aligned
        String[] headers = {"model", "type", "method", "format", "bits/weight", "SQNR dB", "tensors", "size", "validate",
            "worst output err", "mean cos", "time"};
        boolean[] right = {false, false, false, false, true, true, true, true, false, true, true, true};
        for (int i = 0; i < headers.length; i++) {
            cols.put(headers[i], right[i]);
        }
        StringBuilder b = new StringBuilder();
        b.append("| ").append(String.join(" | ", cols.keySet())).append(" |\n|");
        for (boolean r : cols.values()) {
            b.append(r ? " ---: |" : " --- |");
        }
        b.append('\n');
        for (Row r : rows) {
            List<String> c = List.of(
                    "`" + r.path().replace("|", "\\|").replace("`", "'") + "`",
                    or(r.modelType()), or(r.method()), or(r.format()),
                    r.bitsPerWeight() == null ? "-" : String.format(Locale.ROOT, "%.3f", r.bitsPerWeight()),
                    r.meanSqnrDb() == null ? "-" : String.format(Locale.ROOT, "%.2f", r.meanSqnrDb()),
                    r.tensorCount() == null ? "-" : r.tensorCount().toString(),
                    Units.bytes(r.weightBytes()),
                    r.validationPassed() == null ? "-" : r.validationPassed() ? "passed" : "FAILED",
                    r.worstOutputRelError() == null ? "-" : String.format(Locale.ROOT, "%.3e", r.worstOutputRelError()),
                    r.evalMeanCos() == null ? "-" : String.format(Locale.ROOT, "%.4f", r.evalMeanCos()),
                    r.quantizeSeconds() == null ? "-" : String.format(Locale.ROOT, "%.1f s", r.quantizeSeconds()));
            b.append("| ").append(String.join(" | ", c)).append(" |\n");
        }
        return b.toString();
    }

    private static String or(String s) {
        return s == null || s.isEmpty() ? "-" : s.replace("|", "\\|");
    }

    private static void writeAtomically(Path target, String text) {
        Path abs = target.toAbsolutePath();
        Path tmp = abs.resolveSibling("." + abs.getFileName() + ".partial");
        try {
            Files.writeString(tmp, text);
            try {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the original failure is the one to report
            }
            throw IoFailures.wrap("write", target, e);
        }
    }
}
