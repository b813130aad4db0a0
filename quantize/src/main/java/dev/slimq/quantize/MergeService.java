package dev.slimq.quantize;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.checkpoint.CheckpointWriter;
import dev.slimq.core.checkpoint.OutputPaths;
import dev.slimq.core.io.Fingerprint;
import dev.slimq.core.json.Json;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * {@code slimq merge OUT PART...}: assembles the parts of a {@code slimq quantize --shard K/N} run into
 * the checkpoint one single-machine run writes, byte for byte. The parts must agree (one fingerprint,
 * K = 1..N each exactly once, every planned tensor in exactly the part the plan assigns it to);
 * anything else is refused as bad input before a byte is written. The input checkpoint (recorded in
 * part.json, or given explicitly) supplies the files carried through (tokenizer etc.).
 */
public final class MergeService {
    private MergeService() {
    }

    /** What a merge wrote. */
    public record Result(QuantizationReport report, int parts, int tensors, long outputBytes, Path input) {
    }

    private record Part(Path dir, JsonNode json, int k) {
    }

    public static Result run(Path output, List<Path> partDirs, Optional<Path> inputOverride, boolean force) {
        return run(output, partDirs, inputOverride, force, null);
    }

    /**
     * With {@code fingerprint}: recorded with the output, an earlier slimq result under {@code output}
     * replaced without {@code force}, and an interrupted merge with the same fingerprint resumed.
     */
    public static Result run(Path output, List<Path> partDirs, Optional<Path> inputOverride, boolean force,
                             Fingerprint fingerprint) {
        if (partDirs.isEmpty()) {
            throw new SlimqException(Failure.USAGE, "merge needs at least one PART directory");
        }
        List<Part> parts = new ArrayList<>();
        for (Path d : partDirs) {
            Path pj = d.resolve(ShardRun.PART_FILE);
            if (!Files.isRegularFile(pj)) {
                throw new SlimqException(Failure.BAD_INPUT, d + " is not a part of a --shard run: it has no " + ShardRun.PART_FILE);
            }
            JsonNode j;
            try {
                j = Json.MAPPER.readTree(pj.toFile());
            } catch (IOException e) {
                throw new SlimqException(Failure.BAD_INPUT, pj + ": not valid JSON: " + e.getMessage(), e);
            }
            if (j.path("schema_version").asInt() != ShardRun.SCHEMA_VERSION) {
                throw new SlimqException(Failure.BAD_INPUT, pj + ": unsupported part schema_version " + j.path("schema_version"));
            }
            parts.add(new Part(d, j, j.path("part").asInt()));
        }
        JsonNode first = parts.getFirst().json();
        String fp = first.path("fingerprint").asText();
        int n = first.path("parts").asInt();
        Map<Integer, Path> seen = new TreeMap<>();
        for (Part p : parts) {
            if (!p.json().path("fingerprint").asText().equals(fp)) {
                throw new SlimqException(Failure.BAD_INPUT, "parts disagree: " + p.dir() + " (" + p.json().path("options").asText() + ") is from a different run than "
                        + parts.getFirst().dir() + " (" + first.path("options").asText() + "); every part needs the same input and options");
            }
            if (p.json().path("parts").asInt() != n || p.k() < 1 || p.k() > n) {
                throw new SlimqException(Failure.BAD_INPUT, p.dir() + " is part " + p.k() + "/" + p.json().path("parts").asInt()
                        + ", not one of " + n + " parts");
            }
            Path dup = seen.put(p.k(), p.dir());
            if (dup != null) {
                throw new SlimqException(Failure.BAD_INPUT, "part " + p.k() + "/" + n + " given twice: " + dup + " and " + p.dir());
            }
        }
        if (seen.size() != n) {
            List<Integer> missing = new ArrayList<>();
            for (int k = 1; k <= n; k++) {
                if (!seen.containsKey(k)) {
                    missing.add(k);
                }
            }
            throw new SlimqException(Failure.BAD_INPUT, "part" + (missing.size() > 1 ? "s " : " ") + missing + " of " + n
                    + " missing; merge needs every part K/" + n + " exactly once");
        }
        Path input = inputOverride.orElse(Path.of(first.path("input").asText()));
        List<Path> inputs = new ArrayList<>(partDirs);
        inputs.add(input);
        OutputPaths.check(output, inputs, force
                || fingerprint != null && Fingerprint.recorded(output, Fingerprint.OUTPUT).isPresent());

        // The planned output, in final order, and which part holds each tensor.
        List<TensorInfo> planned = new ArrayList<>();
        Map<String, Integer> partOf = new HashMap<>();
        for (JsonNode t : first.path("tensors")) {
            long[] shape = new long[t.path("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = t.path("shape").get(i).asLong();
            }
            DType dt = DType.fromWireName(t.path("dtype").asText())
                    .orElseThrow(() -> new SlimqException(Failure.BAD_INPUT, "part.json: unknown dtype " + t.path("dtype")));
            planned.add(TensorInfo.planned(t.path("name").asText(), dt, shape));
            partOf.put(t.path("name").asText(), t.path("part").asInt());
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        first.path("metadata").properties().forEach(e -> metadata.put(e.getKey(), e.getValue().asText()));

        List<Checkpoint> opened = new ArrayList<>();
        try (Checkpoint in = Checkpoint.open(input)) {
            if (!ShardRun.inputFingerprint(in).equals(first.path("input_fingerprint").asText())) {
                throw new SlimqException(Failure.BAD_INPUT, "input " + input + " is not the checkpoint the parts were made from (its headers or config differ)");
            }
            Map<Integer, Checkpoint> partCkpt = new HashMap<>();
            for (Part p : parts) {
                Checkpoint c = Checkpoint.open(p.dir().resolve(ShardRun.WEIGHTS_FILE));
                opened.add(c);
                partCkpt.put(p.k(), c);
                Set<String> expected = new HashSet<>();
                partOf.forEach((name, k) -> {
                    if (k == p.k()) {
                        expected.add(name);
                    }
                });
                Set<String> actual = new HashSet<>();
                for (TensorInfo t : c.tensors()) {
                    actual.add(t.name());
                }
                if (!expected.equals(actual)) {
                    Set<String> miss = new HashSet<>(expected);
                    miss.removeAll(actual);
                    Set<String> extra = new HashSet<>(actual);
                    extra.removeAll(expected);
                    throw new SlimqException(Failure.BAD_INPUT, p.dir() + ": part " + p.k() + "/" + n + " does not hold the planned tensors"
                            + (miss.isEmpty() ? "" : "; missing " + new java.util.TreeSet<>(miss))
                            + (extra.isEmpty() ? "" : "; unexpected " + new java.util.TreeSet<>(extra)));
                }
            }
            long maxShard = first.path("max_shard_bytes").asLong();
            try (CheckpointWriter writer = CheckpointWriter.create(output, planned, metadata, maxShard, in.isDirectory() ? in : null,
                    fingerprint)) {
                for (TensorInfo t : planned) {
                    Checkpoint c = partCkpt.get(partOf.get(t.name()));
                    TensorInfo have = c.tensor(t.name());
                    if (have.dtype() != t.dtype() || !java.util.Arrays.equals(have.shape(), t.shape())) {
                        throw new SlimqException(Failure.BAD_INPUT, "part " + partOf.get(t.name()) + ": tensor " + t.name() + " is not as planned");
                    }
                    if (writer.isFinished(t.name())) {
                        continue; // kept from an interrupted merge with the same fingerprint
                    }
                    try (TensorView v = c.map(t.name()); SafetensorsWriter.TensorSink s = writer.open(t.name())) {
                        s.write(v.segment());
                    }
                }
                QuantizationReport report = report(parts, first);
                if (!first.path("config_json").isNull()) {
                    writer.putFile(Checkpoint.CONFIG_FILE, first.path("config_json").asText());
                }
                if (first.path("write_report").asBoolean()) {
                    writer.putFile(QuantizeService.REPORT_FILE, Json.report(report));
                }
                writer.commit();
                long bytes = planned.stream().mapToLong(TensorInfo::byteCount).sum();
                return new Result(report, n, planned.size(), bytes, input);
            }
        } finally {
            for (Checkpoint c : opened) {
                c.close();
            }
        }
    }

    /** The single-run report: the skeleton plus every part's entries, aggregated in the plan's order. */
    private static QuantizationReport report(List<Part> parts, JsonNode first) {
        Map<String, QuantizationReport.TensorEntry> entries = new TreeMap<>();
        for (Part p : parts) {
            for (JsonNode e : p.json().path("entries")) {
                try {
                    QuantizationReport.TensorEntry te = Json.MAPPER.treeToValue(e, QuantizationReport.TensorEntry.class);
                    entries.put(te.name(), te);
                } catch (IOException ex) {
                    throw new SlimqException(Failure.BAD_INPUT, p.dir() + ": bad report entry: " + ex.getMessage(), ex);
                }
            }
        }
        QuantizationReport sk;
        try {
            sk = Json.MAPPER.treeToValue(first.path("report"), QuantizationReport.class);
        } catch (IOException ex) {
            throw new SlimqException(Failure.BAD_INPUT, "part.json: bad report: " + ex.getMessage(), ex);
        }
        double bits = 0;
        double sqnr = 0;
        for (JsonNode q : first.path("quantized")) {
            QuantizationReport.TensorEntry e = entries.get(q.path("name").asText());
            if (e == null) {
                throw new SlimqException(Failure.BAD_INPUT, "no part has the report entry of " + q.path("name").asText());
            }
            long w = q.path("weights").asLong();
            bits += e.bitsPerWeight() * w;
            sqnr += e.sqnrDb();
        }
        boolean measured = !entries.isEmpty();
        return new QuantizationReport(sk.method(), sk.format(), sk.bits(), sk.groupSize(), sk.symmetric(), sk.zeroMode(), sk.scaleDtype(),
                sk.outliers(), sk.quantizedWeights(), sk.tensorCount(), measured ? bits / sk.quantizedWeights() : Double.NaN,
                sk.storedBytes(), measured ? sqnr / sk.tensorCount() : Double.NaN, sk.notes(), List.copyOf(entries.values()));
    }

}
