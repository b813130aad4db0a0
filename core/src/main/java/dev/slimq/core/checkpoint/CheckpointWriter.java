package dev.slimq.core.checkpoint;

import dev.slimq.core.Text;
import dev.slimq.core.IoFailures;
import dev.slimq.core.io.Fingerprint;
import dev.slimq.core.io.PendingOutputs;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.safetensors.WritePlan;
import dev.slimq.core.tensor.TensorInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes an output checkpoint: a directory in Hugging Face layout or, when the output name ends in
 * {@code .safetensors}, a single file.
 *
 * <p>A directory is assembled in a hidden sibling ({@code .NAME.partial}) and renamed into place by
 * {@link #commit}: shards as planned by {@link ShardPlan}, the files given with {@link #putFile}, the
 * other files of the input copied through, and the index written last. With {@code force} an existing
 * output is replaced only at that final step, so a failed run never destroys the previous output.
 * Closing without committing deletes everything written.
 *
 * <p><b>Incremental and resumable.</b> Created with a {@link Fingerprint}, the writer records it in
 * the output's sidecar (inside a directory output, beside a file output; the weight files' bytes are
 * the same either way) and keeps its temp output resumable: the fingerprint is written into the
 * temp state first, SIGINT and SIGTERM leave the temp state in place, and a later writer with the
 * same fingerprint keeps every journaled tensor whose bytes still match their CRC32C
 * ({@link #isFinished}), plus the {@link #note notes} the command left, so that only the unfinished
 * work is done again. Leftovers with a different fingerprint are deleted. A failed run (an exception)
 * still deletes everything, as without a fingerprint.
 */
public final class CheckpointWriter implements AutoCloseable {
    private final Path output;
    private final boolean singleFile;
    private final Path staging;
    private final ShardPlan shards;
    private final Map<String, SafetensorsWriter> writerOf = new HashMap<>();
    private final List<SafetensorsWriter> writers = new ArrayList<>();
    private final Map<Path, byte[]> files = new TreeMap<>();
    private final java.util.Set<Path> omitted = new java.util.HashSet<>();
    private final Checkpoint copyFrom;
    private final Fingerprint fingerprint;
    private ResumeNotes notes;
    private Map<String, String> previousNotes = Map.of();
    private boolean committed;

    private CheckpointWriter(Path output, boolean singleFile, Path staging, ShardPlan shards, Checkpoint copyFrom, Fingerprint fingerprint) {
        this.output = output;
        this.singleFile = singleFile;
        this.staging = staging;
        this.shards = shards;
        this.copyFrom = copyFrom;
        this.fingerprint = fingerprint;
    }

    private static boolean isSingleFile(Path output) {
        return output.getFileName().toString().endsWith(".safetensors");
    }

    private static Path stagingOf(Path output) {
        return output.resolveSibling("." + output.getFileName() + ".partial");
    }

    /** Where the fingerprint of the run writing {@code output} is kept until it commits. */
    static Path pendingFingerprintOf(Path output) {
        return isSingleFile(output)
                ? output.resolveSibling("." + output.getFileName() + ".partial.slimq-" + Fingerprint.OUTPUT + ".json")
                : stagingOf(output).resolve(".slimq-" + Fingerprint.OUTPUT + ".json");
    }

    private static Path notesOf(Path output) {
        return isSingleFile(output) ? output.resolveSibling("." + output.getFileName() + ".notes") : stagingOf(output).resolve(".slimq-notes");
    }

    /**
     * The notes an interrupted run with this fingerprint left for {@code output} (empty when there
     * was none, or it had another fingerprint): read before the writer exists, so that a command can
     * skip planning work whose result it noted.
     */
    public static Map<String, String> previousNotes(Path output, Fingerprint fingerprint) {
        if (fingerprint == null || !Fingerprint.readFile(pendingFingerprintOf(output)).map(fingerprint::equals).orElse(false)) {
            return Map.of();
        }
        return ResumeNotes.read(notesOf(output));
    }

    /**
     * Starts an output checkpoint.
     *
     * @param output        target directory, or a {@code .safetensors} file name for a single file
     * @param tensors       every output tensor (offsets ignored), in the order that decides sharding
     * @param metadata      safetensors metadata for every shard
     * @param maxShardBytes shard size limit, {@code <= 0} for one file
     * @param copyFrom      input whose non-weight files are copied through, or null
     */
    public static CheckpointWriter create(Path output, List<TensorInfo> tensors, Map<String, String> metadata,
                                          long maxShardBytes, Checkpoint copyFrom) {
        return create(output, tensors, metadata, maxShardBytes, copyFrom, null);
    }

    /**
     * {@link #create(Path, List, Map, long, Checkpoint)} that records {@code fingerprint} with the
     * output and resumes an interrupted run with the same fingerprint (see the class comment);
     * {@code fingerprint} null for a plain writer.
     */
    public static CheckpointWriter create(Path output, List<TensorInfo> tensors, Map<String, String> metadata,
                                          long maxShardBytes, Checkpoint copyFrom, Fingerprint fingerprint) {
        if (fingerprint != null) {
            return createResumable(output, tensors, metadata, maxShardBytes, copyFrom, fingerprint);
        }
        boolean single = isSingleFile(output);
        ShardPlan plan = ShardPlan.of(tensors, single ? 0 : maxShardBytes, metadata);
        Path parent = output.toAbsolutePath().getParent();
        try {
            Files.createDirectories(parent);
        } catch (IOException e) {
            throw IoFailures.wrap("create", parent, e);
        }
        if (single) {
            CheckpointWriter w = new CheckpointWriter(output, true, null, plan, null, null);
            SafetensorsWriter sw = SafetensorsWriter.create(output, plan.shards().getFirst().plan());
            w.writers.add(sw);
            for (TensorInfo t : sw.plan().tensors()) {
                w.writerOf.put(t.name(), sw);
            }
            return w;
        }
        Path staging = output.resolveSibling("." + output.getFileName() + ".partial");
        PendingOutputs.register(staging);
        try {
            PendingOutputs.deleteRecursively(staging);
            Files.createDirectories(staging);
        } catch (IOException e) {
            PendingOutputs.unregister(staging);
            throw IoFailures.wrap("create", staging, e);
        }
        CheckpointWriter w = new CheckpointWriter(output, false, staging, plan, copyFrom, null);
        try {
            for (ShardPlan.Shard s : plan.shards()) {
                SafetensorsWriter sw = SafetensorsWriter.create(staging.resolve(s.fileName()), s.plan());
                w.writers.add(sw);
                for (TensorInfo t : s.plan().tensors()) {
                    w.writerOf.put(t.name(), sw);
                }
            }
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
        return w;
    }

    private static CheckpointWriter createResumable(Path output, List<TensorInfo> tensors, Map<String, String> metadata,
                                                    long maxShardBytes, Checkpoint copyFrom, Fingerprint fingerprint) {
        boolean single = isSingleFile(output);
        ShardPlan plan = ShardPlan.of(tensors, single ? 0 : maxShardBytes, metadata);
        Path parent = output.toAbsolutePath().getParent();
        Path pendingFp = pendingFingerprintOf(output);
        Path staging = single ? null : stagingOf(output);
        boolean same = Fingerprint.readFile(pendingFp).map(fingerprint::equals).orElse(false);
        try {
            Files.createDirectories(parent);
            if (!same) {
                // Another run's leftovers (other inputs, options or version): nothing in them is ours.
                if (single) {
                    PendingOutputs.deleteRecursively(pendingFp);
                    PendingOutputs.deleteRecursively(notesOf(output));
                    PendingOutputs.deleteRecursively(SafetensorsWriter.tempPathFor(output));
                    PendingOutputs.deleteRecursively(SafetensorsWriter.journalPathFor(output));
                } else {
                    PendingOutputs.deleteRecursively(staging);
                    Files.createDirectories(staging);
                }
                // First, before any tensor: journaled bytes are only ever trusted under this fingerprint.
                fingerprint.writeFile(pendingFp);
            }
        } catch (IOException e) {
            throw IoFailures.wrap("create", single ? parent : staging, e);
        }
        CheckpointWriter w = new CheckpointWriter(output, single, staging, plan, single ? null : copyFrom, fingerprint);
        try {
            w.previousNotes = same ? ResumeNotes.read(notesOf(output)) : Map.of();
            w.notes = new ResumeNotes(notesOf(output));
            for (ShardPlan.Shard s : plan.shards()) {
                Path target = single ? output : staging.resolve(s.fileName());
                SafetensorsWriter sw = SafetensorsWriter.resume(target, s.plan());
                w.writers.add(sw);
                for (TensorInfo t : s.plan().tensors()) {
                    w.writerOf.put(t.name(), sw);
                }
            }
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
        return w;
    }

    /** True when the tensor is completely written, in this run or kept from an interrupted one. */
    public boolean isFinished(String name) {
        return writerFor(name).isFinished(name);
    }

    /** How many tensors were kept from an interrupted run with the same fingerprint. */
    public int resumedTensorCount() {
        return writers.stream().mapToInt(w -> w.resumedTensors().size()).sum();
    }

    /** The notes an interrupted run with the same fingerprint left (see {@link #note}). */
    public Map<String, String> previousNotes() {
        return previousNotes;
    }

    /**
     * Records a note for a later run that resumes this one (e.g. a tensor's report entry, once all
     * its bytes are written); nothing happens on a writer without a fingerprint.
     */
    public void note(String key, String value) {
        if (notes != null) {
            notes.append(key, value);
        }
    }

    public ShardPlan shards() {
        return shards;
    }

    public Path output() {
        return output;
    }

    /** The planned tensor (with its offsets inside its shard). */
    public TensorInfo tensor(String name) {
        return writerFor(name).plan().tensor(name);
    }

    /** Sink for one tensor's bytes; see {@link SafetensorsWriter#open}. */
    public SafetensorsWriter.TensorSink open(String name) {
        return writerFor(name).open(name);
    }

    private SafetensorsWriter writerFor(String name) {
        SafetensorsWriter w = writerOf.get(name);
        if (w == null) {
            throw new IllegalArgumentException("tensor '" + name + "' is not planned for " + output);
        }
        return w;
    }

    /**
     * Writes a non-weight file (e.g. a rewritten config.json), replacing the input's copy of it.
     * Ignored for single-file outputs, which hold weights only.
     */
    public void putFile(Path relative, byte[] content) {
        Path rel = relative.normalize();
        if (relative.isAbsolute() || rel.startsWith("..") || rel.toString().isEmpty()) {
            throw new IllegalArgumentException("not a relative path inside the checkpoint: " + relative);
        }
        String name = rel.toString();
        if (name.equals(Checkpoint.INDEX_FILE) || shards.shards().stream().anyMatch(s -> s.fileName().equals(name))) {
            throw new IllegalArgumentException(relative + " is a weight file or the index of the output; it cannot be put");
        }
        files.put(rel, content.clone());
    }

    public void putFile(String relative, String content) {
        putFile(Path.of(relative), content.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Leaves a file of the input out of the output (e.g. a report that no longer describes the
     * weights); nothing happens when the input has no such file.
     */
    public void omitFile(String relative) {
        omitted.add(Path.of(relative).normalize());
    }

    /** Finishes every shard, copies the other files, writes the index and moves the result into place. */
    public void commit() {
        if (committed) {
            return;
        }
        if (singleFile && fingerprint != null) {
            // The old sidecar goes first: a crash before the new one is in place costs a redo only.
            PendingOutputs.deleteRecursively(Fingerprint.sidecarOf(output, Fingerprint.OUTPUT));
        }
        for (SafetensorsWriter w : writers) {
            w.commit();
        }
        if (singleFile) {
            if (fingerprint != null) {
                try {
                    Files.move(pendingFingerprintOf(output), Fingerprint.sidecarOf(output, Fingerprint.OUTPUT),
                            StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (IOException e) {
                    throw IoFailures.wrap("write", Fingerprint.sidecarOf(output, Fingerprint.OUTPUT), e);
                }
                PendingOutputs.deleteRecursively(notesOf(output));
            }
            committed = true;
            return;
        }
        if (fingerprint != null) {
            PendingOutputs.deleteRecursively(notesOf(output)); // the sidecar beside it moves in with the output
        }
        try {
            Map<Path, byte[]> explicit = new LinkedHashMap<>(files);
            if (copyFrom != null && copyFrom.isDirectory()) {
                for (Path rel : copyFrom.otherFiles()) {
                    if (!explicit.containsKey(rel) && !omitted.contains(rel)) {
                        Path dst = staging.resolve(rel);
                        Files.createDirectories(dst.getParent());
                        Files.copy(copyFrom.root().resolve(rel), dst, StandardCopyOption.COPY_ATTRIBUTES);
                    }
                }
            }
            for (Map.Entry<Path, byte[]> e : explicit.entrySet()) {
                Path dst = staging.resolve(e.getKey());
                Files.createDirectories(dst.getParent());
                Files.write(dst, e.getValue());
            }
            if (shards.isSharded()) {
                // Last: an index only exists once every shard it names is complete.
                Files.writeString(staging.resolve(Checkpoint.INDEX_FILE), indexJson(shards), StandardCharsets.UTF_8);
            }
            moveIntoPlace();
            committed = true;
        } catch (IOException e) {
            throw IoFailures.wrap("write", output, e);
        }
    }

    private void moveIntoPlace() throws IOException {
        Path old = null;
        if (Files.exists(output, LinkOption.NOFOLLOW_LINKS)) {
            // --force was checked by the caller: park the previous output, then swap.
            old = output.resolveSibling("." + output.getFileName() + ".replaced");
            PendingOutputs.deleteRecursively(old);
            Files.move(output, old, StandardCopyOption.ATOMIC_MOVE);
        }
        try {
            Files.move(staging, output, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            if (old != null) {
                Files.move(old, output, StandardCopyOption.ATOMIC_MOVE);
            }
            throw e;
        }
        PendingOutputs.unregister(staging);
        if (old != null) {
            PendingOutputs.deleteRecursively(old);
        }
    }

    /** The index as huggingface_hub writes it: {@code json.dumps(index, indent=2, sort_keys=True) + "\n"}. */
    static String indexJson(ShardPlan plan) {
        StringBuilder sb = new StringBuilder();
        sb.append("{\n  \"metadata\": {\n    \"total_size\": ").append(plan.totalSize()).append("\n  },\n  \"weight_map\": {\n");
        TreeMap<String, String> sorted = new TreeMap<>(Text.CODE_POINT_ORDER);
        sorted.putAll(plan.weightMap());
        int i = 0;
        for (Map.Entry<String, String> e : sorted.entrySet()) {
            sb.append("    ").append(jsonString(e.getKey())).append(": ").append(jsonString(e.getValue()));
            sb.append(++i < sorted.size() ? ",\n" : "\n");
        }
        sb.append("  }\n}\n");
        return sb.toString();
    }


    /** Python's json.dumps escaping with ensure_ascii=True (its default). */
    static String jsonString(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> sb.append(c < 0x20 || c > 0x7E ? String.format(Locale.ROOT, "\\u%04x", (int) c) : String.valueOf(c));
            }
        }
        return sb.append('"').toString();
    }

    /** Without a prior {@link #commit}, removes everything written. */
    @Override
    public void close() {
        for (SafetensorsWriter w : writers) {
            w.close();
        }
        if (!committed && fingerprint != null && singleFile) {
            PendingOutputs.deleteRecursively(pendingFingerprintOf(output));
            PendingOutputs.deleteRecursively(notesOf(output));
        }
        if (!committed && staging != null) {
            PendingOutputs.deleteRecursively(staging);
            PendingOutputs.unregister(staging);
        }
    }

    /** Write plan of the shard holding {@code name}. */
    public WritePlan planOf(String name) {
        return writerFor(name).plan();
    }
}
