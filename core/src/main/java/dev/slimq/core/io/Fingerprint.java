package dev.slimq.core.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.IoFailures;
import dev.slimq.core.json.Json;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * What an output was made from: the command, the slimq version, the options that shape the result,
 * and every input file (absolute path, size and modification time, plus a SHA-256 of each
 * safetensors header; with {@code verifyInputs}, a SHA-256 of every input byte instead of the time).
 * Two runs with equal fingerprints produce the same bytes, which is what lets a re-run skip finished
 * work and resume interrupted work.
 *
 * <p>The fingerprint is kept in a small JSON <em>sidecar</em>, never in the model files (their bytes
 * stay identical across runs): inside a directory output as {@code .slimq-TAG.json}, beside a file
 * output as {@code .NAME.slimq-TAG.json}. Hidden names keep it out of checkpoint listings, so it is
 * never copied through into a derived output. Equality is by canonical JSON text.
 */
public final class Fingerprint {
    public static final int SCHEMA_VERSION = 1;
    /** The tag of the sidecar a command writes for its own output. */
    public static final String OUTPUT = "fingerprint";

    private final String json;

    private Fingerprint(String json) {
        this.json = json;
    }

    /**
     * Fingerprints a run.
     *
     * @param command      the command (e.g. "quantize"), so two commands never share a fingerprint
     * @param version      slimq's version
     * @param options      option name to value; only options that can change the output belong here
     * @param inputs       input files or directories (directories: every non-hidden regular file under them)
     * @param verifyInputs hash every input byte instead of trusting sizes and modification times
     */
    public static Fingerprint of(String command, String version, Map<String, String> options, List<Path> inputs, boolean verifyInputs) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("schema_version", SCHEMA_VERSION);
        root.put("command", command);
        root.put("slimq_version", version);
        root.put("verify_inputs", verifyInputs);
        ObjectNode opts = root.putObject("options");
        new TreeMap<>(options).forEach(opts::put);
        ArrayNode ins = root.putArray("inputs");
        for (Path in : inputs) {
            ObjectNode n = ins.addObject();
            Path abs = in.toAbsolutePath().normalize();
            n.put("path", abs.toString());
            ArrayNode files = n.putArray("files");
            if (Files.isDirectory(abs)) {
                for (Path f : listFiles(abs)) {
                    files.add(describe(f, abs.relativize(f).toString().replace('\\', '/'), verifyInputs));
                }
            } else if (Files.exists(abs)) {
                files.add(describe(abs, abs.getFileName().toString(), verifyInputs));
            } else {
                n.put("missing", true);
            }
        }
        return new Fingerprint(canonical(root));
    }

    /** A fingerprint from its JSON text (a sidecar's content); malformed text gives empty. */
    public static Optional<Fingerprint> parse(String text) {
        try {
            JsonNode n = Json.MAPPER.readTree(text);
            return n != null && n.isObject() ? Optional.of(new Fingerprint(canonical(n))) : Optional.empty();
        } catch (JsonProcessingException e) {
            return Optional.empty();
        }
    }

    /** The canonical JSON text. */
    public String json() {
        return json;
    }

    /** Where the sidecar with {@code tag} of {@code output} lives (see the class comment). */
    public static Path sidecarOf(Path output, String tag) {
        String suffix = ".slimq-" + tag + ".json";
        return Files.isDirectory(output, LinkOption.NOFOLLOW_LINKS) ? output.resolve(suffix)
                : output.resolveSibling("." + output.getFileName() + suffix);
    }

    /** The fingerprint recorded for {@code output}, if it exists and has a readable sidecar. */
    public static Optional<Fingerprint> recorded(Path output, String tag) {
        if (!Files.exists(output, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        return readFile(sidecarOf(output, tag));
    }

    /** The fingerprint in a sidecar file, if it exists and parses. */
    public static Optional<Fingerprint> readFile(Path sidecar) {
        if (!Files.isRegularFile(sidecar, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        try {
            return parse(Files.readString(sidecar, StandardCharsets.UTF_8));
        } catch (IOException | java.io.UncheckedIOException e) {
            return Optional.empty(); // unreadable: treated as absent, so the work is redone
        }
    }

    /** True when {@code output} exists and records exactly this fingerprint: the work can be skipped. */
    public boolean isRecordedAt(Path output, String tag) {
        return recorded(output, tag).map(this::equals).orElse(false);
    }

    /** Writes this fingerprint to a sidecar file, through a temp name so it is never torn. */
    public void writeFile(Path sidecar) {
        Path tmp = sidecar.resolveSibling(sidecar.getFileName() + ".tmp");
        try {
            Files.writeString(tmp, Json.python(Json.MAPPER.readTree(json)), StandardCharsets.UTF_8);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, sidecar, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            PendingOutputs.deleteRecursively(tmp);
            throw IoFailures.wrap("write", sidecar, e);
        }
    }

    private static String canonical(JsonNode n) {
        try {
            return Json.MAPPER.writeValueAsString(n);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree always serializes", e);
        }
    }

    private static List<Path> listFiles(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> Files.isRegularFile(p))
                    .filter(p -> !isHidden(dir.relativize(p)))
                    .sorted()
                    .toList();
        } catch (IOException | java.io.UncheckedIOException e) {
            throw IoFailures.wrap("list", dir, e instanceof IOException io ? io : ((java.io.UncheckedIOException) e).getCause());
        }
    }

    /** Hidden names hold temp files and sidecars, which never influence an output. */
    private static boolean isHidden(Path relative) {
        for (Path part : relative) {
            if (part.toString().startsWith(".")) {
                return true;
            }
        }
        return false;
    }

    private static ObjectNode describe(Path file, String name, boolean verify) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("name", name);
        try {
            n.put("size", Files.size(file));
            if (verify) {
                n.put("sha256", sha256(file));
            } else {
                n.put("mtime_ns", mtimeNanos(file));
                if (name.endsWith(".safetensors")) {
                    headerSha256(file).ifPresent(h -> n.put("header_sha256", h));
                }
            }
        } catch (IOException e) {
            throw IoFailures.wrap("read", file, e);
        }
        return n;
    }

    private static long mtimeNanos(Path file) throws IOException {
        var t = Files.getLastModifiedTime(file).toInstant();
        return t.getEpochSecond() * 1_000_000_000L + t.getNano();
    }

    private static String sha256(Path file) throws IOException {
        MessageDigest md = newSha256();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** SHA-256 of the 8-byte length and the JSON header; empty when the file is too short to hold one. */
    private static Optional<String> headerSha256(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            while (len.hasRemaining() && ch.read(len) > 0) {
                // fill the length field
            }
            if (len.hasRemaining()) {
                return Optional.empty();
            }
            long n = len.flip().getLong();
            // A damaged length is the reader's error to report; the fingerprint just leaves it out.
            if (n < 0 || n > size - 8 || n > (100L << 20)) {
                return Optional.empty();
            }
            ByteBuffer head = ByteBuffer.allocate((int) n);
            while (head.hasRemaining() && ch.read(head) > 0) {
                // fill the header
            }
            MessageDigest md = newSha256();
            md.update(len.flip());
            md.update(head.flip());
            return Optional.of(HexFormat.of().formatHex(md.digest()));
        }
    }

    private static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Fingerprint f && f.json.equals(json);
    }

    @Override
    public int hashCode() {
        return json.hashCode();
    }

    @Override
    public String toString() {
        return json;
    }
}
