package dev.slimq.core.checkpoint;

import dev.slimq.core.Text;
import static dev.slimq.core.checkpoint.CheckpointFormatException.Reason.*;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.slimq.core.Failure;
import dev.slimq.core.IoFailures;
import dev.slimq.core.SlimqException;
import dev.slimq.core.layout.ModelConfig;
import dev.slimq.core.layout.ModelLayout;
import dev.slimq.core.safetensors.SafetensorsFile;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A model as it sits on disk: a single safetensors file, or a Hugging Face directory with
 * {@code model.safetensors} or shards listed in {@code model.safetensors.index.json}, plus
 * config.json, tokenizer files and whatever else, which slimq carries through untouched.
 *
 * <p>Opening validates every shard header and checks the index against the shards (missing shard,
 * a tensor missing or present twice, a tensor no index entry names, a wrong {@code total_size}). Shards
 * stay open (one file handle each, nothing mapped) until {@link #close}.
 */
public final class Checkpoint implements AutoCloseable {
    public static final String INDEX_FILE = "model.safetensors.index.json";
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String CONFIG_FILE = "config.json";

    // Trailing tokens after the object ("{...} garbage") are an error, as for Python's json.load.
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** Output shard names the writer produces: a stale copy of one must never be carried through. */
    private static final Pattern SHARD_NAME = Pattern.compile("model-\\d{5}-of-\\d{5}\\.safetensors");

    private final Path root;
    private final boolean directory;
    private final List<SafetensorsFile> shards;
    private final List<TensorInfo> tensors;
    private final Map<String, SafetensorsFile> shardOf;
    private final Optional<JsonNode> config;
    private final List<Path> otherFiles;
    private ModelLayout layout;

    private Checkpoint(Path root, boolean directory, List<SafetensorsFile> shards, Optional<JsonNode> config, List<Path> otherFiles) {
        this.root = root;
        this.directory = directory;
        this.shards = List.copyOf(shards);
        this.config = config;
        this.otherFiles = List.copyOf(otherFiles);
        List<TensorInfo> all = new ArrayList<>();
        Map<String, SafetensorsFile> where = new HashMap<>();
        for (SafetensorsFile f : shards) {
            for (TensorInfo t : f.tensors()) {
                all.add(t);
                where.put(t.name(), f);
            }
        }
        this.tensors = Collections.unmodifiableList(all);
        this.shardOf = where;
    }

    /** Opens a safetensors file or a checkpoint directory. */
    public static Checkpoint open(Path path) {
        if (!Files.exists(path)) {
            throw new SlimqException(Failure.IO, "cannot open " + path + ": no such file or directory");
        }
        if (!Files.isDirectory(path)) {
            return new Checkpoint(path, false, List.of(SafetensorsFile.open(path)), Optional.empty(), List.of());
        }
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            Path index = path.resolve(INDEX_FILE);
            List<Path> weightFiles;
            Map<String, String> weightMap = null;
            long totalSize = -1;
            if (Files.isRegularFile(index)) {
                JsonNode idx = readJson(index, INDEX_NOT_JSON);
                JsonNode wm = idx.get("weight_map");
                if (wm == null || !wm.isObject()) {
                    throw new CheckpointFormatException(INDEX_MISTYPED, index, "'weight_map' is missing or not an object");
                }
                weightMap = new LinkedHashMap<>();
                for (Map.Entry<String, JsonNode> e : wm.properties()) {
                    if (!e.getValue().isTextual()) {
                        throw new CheckpointFormatException(INDEX_MISTYPED, index, "weight_map entry '" + Text.oneLine(e.getKey()) + "' is not a file name");
                    }
                    weightMap.put(e.getKey(), e.getValue().asText());
                }
                if (weightMap.isEmpty()) {
                    throw new CheckpointFormatException(NO_WEIGHTS, index, "'weight_map' lists no tensors");
                }
                JsonNode ts = idx.path("metadata").get("total_size");
                if (ts != null) {
                    if (!ts.isIntegralNumber() || !ts.canConvertToLong() || ts.asLong() < 0) {
                        throw new CheckpointFormatException(INDEX_MISTYPED, index, "metadata.total_size is not a non-negative integer");
                    }
                    totalSize = ts.asLong();
                }
                weightFiles = new ArrayList<>();
                for (String shard : new TreeSet<>(weightMap.values())) {
                    Path p = safeChild(path, shard, index);
                    if (!Files.isRegularFile(p)) {
                        throw new CheckpointFormatException(MISSING_SHARD, index, "shard '" + Text.oneLine(shard) + "' listed in the index does not exist");
                    }
                    weightFiles.add(p);
                }
            } else if (Files.isRegularFile(path.resolve(SINGLE_FILE))) {
                weightFiles = List.of(path.resolve(SINGLE_FILE));
            } else {
                List<Path> candidates = listSafetensors(path);
                if (candidates.size() != 1) {
                    throw new CheckpointFormatException(NO_WEIGHTS, path, candidates.isEmpty()
                            ? "no model.safetensors, no " + INDEX_FILE + " and no other .safetensors file"
                            : candidates.size() + " .safetensors files but no " + INDEX_FILE + " saying how they fit together");
                }
                weightFiles = candidates;
            }
            for (Path p : weightFiles) {
                opened.add(SafetensorsFile.open(p));
            }
            if (weightMap != null) {
                checkIndex(path.resolve(INDEX_FILE), weightMap, totalSize, opened);
            }
            Optional<JsonNode> config = Files.isRegularFile(path.resolve(CONFIG_FILE))
                    ? Optional.of(readJson(path.resolve(CONFIG_FILE), CONFIG_NOT_JSON))
                    : Optional.empty();
            List<Path> others = listOtherFiles(path, weightFiles);
            return new Checkpoint(path, true, opened, config, others);
        } catch (RuntimeException e) {
            for (SafetensorsFile f : opened) {
                f.close();
            }
            throw e;
        }
    }

    /** A shard name from the index must name a file directly inside the checkpoint directory. */
    private static Path safeChild(Path dir, String name, Path index) {
        if (name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0
                || name.indexOf('\\') >= 0 || name.indexOf('\0') >= 0) {
            throw new CheckpointFormatException(INDEX_MISTYPED, index, "shard name '" + Text.oneLine(name) + "' is not a plain file name in the checkpoint directory");
        }
        return dir.resolve(name);
    }

    private static void checkIndex(Path index, Map<String, String> weightMap, long totalSize, List<SafetensorsFile> shards) {
        // Where each tensor is stored; a tensor in two shards is reported as such whichever one the index names.
        Map<String, String> found = new HashMap<>();
        long sum = 0;
        for (SafetensorsFile f : shards) {
            String shard = f.path().getFileName().toString();
            for (TensorInfo t : f.tensors()) {
                String prev = found.put(t.name(), shard);
                if (prev != null) {
                    throw new CheckpointFormatException(TENSOR_DUPLICATED, index, "tensor '" + Text.oneLine(t.name()) + "' is stored in both " + Text.oneLine(prev) + " and " + Text.oneLine(shard));
                }
                sum += t.byteCount();
            }
        }
        for (SafetensorsFile f : shards) {
            String shard = f.path().getFileName().toString();
            for (TensorInfo t : f.tensors()) {
                String listed = weightMap.get(t.name());
                if (listed == null) {
                    throw new CheckpointFormatException(TENSOR_NOT_INDEXED, index, "tensor '" + Text.oneLine(t.name()) + "' in " + Text.oneLine(shard) + " is not in the weight_map");
                }
                if (!listed.equals(shard)) {
                    throw new CheckpointFormatException(TENSOR_MISSING, index, "tensor '" + Text.oneLine(t.name()) + "' is listed in " + Text.oneLine(listed) + " but stored in " + Text.oneLine(shard));
                }
            }
        }
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            if (!found.containsKey(e.getKey())) {
                throw new CheckpointFormatException(TENSOR_MISSING, index, "tensor '" + Text.oneLine(e.getKey()) + "' listed in the index is not in " + Text.oneLine(e.getValue()));
            }
        }
        if (totalSize >= 0 && totalSize != sum) {
            throw new CheckpointFormatException(TOTAL_SIZE_MISMATCH, index, "metadata.total_size is " + totalSize + " but the shards hold " + sum + " bytes of tensor data");
        }
    }


    private static JsonNode readJson(Path p, CheckpointFormatException.Reason reason) {
        try {
            JsonNode n = JSON.readTree(p.toFile());
            if (n == null || !n.isObject()) {
                throw new CheckpointFormatException(reason, p, "not a JSON object");
            }
            return n;
        } catch (JsonProcessingException e) {
            throw new CheckpointFormatException(reason, p, "not valid JSON: " + Text.oneLine(String.valueOf(e.getOriginalMessage())));
        } catch (IOException e) {
            throw IoFailures.wrap("read", p, e);
        }
    }

    private static List<Path> listSafetensors(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".safetensors") && !p.getFileName().toString().startsWith("."))
                    .filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            throw IoFailures.wrap("list", dir, e);
        }
    }

    /**
     * Every regular file under the directory that is not a weight file or the index, relative, sorted.
     * Hidden files and everything in hidden directories (.git, .cache from hub downloads, slimq's own
     * temp names) are left out, and so are top-level files under the names a written checkpoint uses for
     * its weights (model.safetensors, model-0000K-of-0000N.safetensors) that are not this checkpoint's
     * weights: a stale copy next to the new shards would be loaded instead of them, or collide with them.
     */
    private static List<Path> listOtherFiles(Path dir, List<Path> weightFiles) {
        try (Stream<Path> s = Files.walk(dir)) {
            List<Path> skip = weightFiles.stream().map(Path::normalize).toList();
            return s.filter(Files::isRegularFile)
                    .filter(p -> !skip.contains(p.normalize()))
                    .map(dir::relativize)
                    .filter(r -> !isHidden(r))
                    .filter(r -> !(r.getNameCount() == 1 && isWeightName(r.toString())))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw IoFailures.wrap("list", dir, e);
        }
    }

    private static boolean isHidden(Path relative) {
        for (Path part : relative) {
            if (part.toString().startsWith(".")) {
                return true;
            }
        }
        return false;
    }

    private static boolean isWeightName(String name) {
        return name.equals(INDEX_FILE) || name.equals(SINGLE_FILE) || SHARD_NAME.matcher(name).matches();
    }

    public Path root() {
        return root;
    }

    /** True for a checkpoint directory, false for a bare safetensors file. */
    public boolean isDirectory() {
        return directory;
    }

    public List<SafetensorsFile> shards() {
        return shards;
    }

    /** All tensors: shard by shard (shards in name order), each in data order. */
    public List<TensorInfo> tensors() {
        return tensors;
    }

    public TensorInfo tensor(String name) {
        return shardFor(name).tensor(name);
    }

    public boolean contains(String name) {
        return shardOf.containsKey(name);
    }

    /** Maps one tensor from whichever shard holds it; close the view to release it. */
    public TensorView map(String name) {
        return shardFor(name).map(name);
    }

    public TensorView mapRows(String name, long firstRow, long rowCount) {
        return shardFor(name).mapRows(name, firstRow, rowCount);
    }

    private SafetensorsFile shardFor(String name) {
        SafetensorsFile f = shardOf.get(name);
        if (f == null) {
            throw new SlimqException(Failure.BAD_INPUT, root + ": no tensor named '" + name + "'");
        }
        return f;
    }

    /** config.json, when the checkpoint has one. */
    public Optional<JsonNode> configJson() {
        return config.map(JsonNode::deepCopy);
    }

    /** Files other than weights and index (config, tokenizer, ...), relative to the root. */
    public List<Path> otherFiles() {
        return otherFiles;
    }

    /** Metadata of the first shard (what a rewritten checkpoint keeps). */
    public Map<String, String> metadata() {
        return shards.isEmpty() ? Map.of() : shards.getFirst().metadata();
    }

    /** The model layout (architecture and tensor roles); computed once. */
    public synchronized ModelLayout layout() {
        if (layout == null) {
            Optional<ModelConfig> cfg = config.map(c -> ModelConfig.read(root.resolve(CONFIG_FILE)));
            layout = ModelLayout.of(cfg, tensors);
        }
        return layout;
    }

    /**
     * {@code sha256:} over every shard's 8-byte header length and header bytes, in shard order, then
     * config.json's bytes (the checkpoint directory's, or for a bare file the one beside it, when
     * present). It identifies a model by everything that decides its shapes and names without reading
     * the weights: what a statistics file records and what its readers check it against.
     */
    public String headerFingerprint() {
        java.security.MessageDigest md;
        try {
            md = java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
        for (SafetensorsFile shard : shards) {
            java.nio.ByteBuffer prefix = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            prefix.putLong(shard.header().headerLength()).flip();
            md.update(prefix);
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(shard.path(), java.nio.file.StandardOpenOption.READ)) {
                java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(Math.toIntExact(shard.header().headerLength()));
                long pos = 8;
                while (buf.hasRemaining()) {
                    int r = ch.read(buf, pos);
                    if (r < 0) {
                        throw new SlimqException(Failure.BAD_INPUT, shard.path() + " is shorter than its header");
                    }
                    pos += r;
                }
                md.update(buf.flip());
            } catch (IOException e) {
                throw IoFailures.wrap("read", shard.path(), e);
            }
        }
        Path dir = directory ? root : root.toAbsolutePath().getParent();
        Path cfg = dir == null ? null : dir.resolve(CONFIG_FILE);
        if (cfg != null && Files.isRegularFile(cfg)) {
            try {
                md.update(Files.readAllBytes(cfg));
            } catch (IOException e) {
                throw IoFailures.wrap("read", cfg, e);
            }
        }
        return "sha256:" + java.util.HexFormat.of().formatHex(md.digest());
    }

    /** Sum of tensor data bytes over all shards. */
    public long dataBytes() {
        long s = 0;
        for (TensorInfo t : tensors) {
            s += t.byteCount();
        }
        return s;
    }

    /** Sum of shard file sizes (data plus headers). */
    public long fileBytes() {
        long s = 0;
        for (SafetensorsFile f : shards) {
            s += f.fileSize();
        }
        return s;
    }

    @Override
    public void close() {
        for (SafetensorsFile f : shards) {
            f.close();
        }
    }
}
