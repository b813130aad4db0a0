package dev.slimq.core.checkpoint;

import dev.slimq.core.Text;
import dev.slimq.core.IoFailures;
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
    private boolean committed;

    private CheckpointWriter(Path output, boolean singleFile, Path staging, ShardPlan shards, Checkpoint copyFrom) {
        this.output = output;
        this.singleFile = singleFile;
        this.staging = staging;
        this.shards = shards;
        this.copyFrom = copyFrom;
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
        boolean single = output.getFileName().toString().endsWith(".safetensors");
        ShardPlan plan = ShardPlan.of(tensors, single ? 0 : maxShardBytes, metadata);
        Path parent = output.toAbsolutePath().getParent();
        try {
            Files.createDirectories(parent);
        } catch (IOException e) {
            throw IoFailures.wrap("create", parent, e);
        }
        if (single) {
            CheckpointWriter w = new CheckpointWriter(output, true, null, plan, null);
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
        CheckpointWriter w = new CheckpointWriter(output, false, staging, plan, copyFrom);
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
        for (SafetensorsWriter w : writers) {
            w.commit();
        }
        if (singleFile) {
            committed = true;
            return;
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
