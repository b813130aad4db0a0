package dev.slimq.core.safetensors;

import dev.slimq.core.IoFailures;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The record of which planned tensors are completely written, kept beside the temp file: one line
 * per finished tensor, {@code name<TAB>begin<TAB>end<TAB>crc32c}, appended as each finishes. It is what
 * resuming an interrupted run and splitting a run over machines read back; a line is only appended
 * after the tensor's bytes are handed to the file, and a torn last line is ignored on reading.
 */
public final class WriteJournal {
    /** One finished tensor. */
    public record Entry(String name, long begin, long end, int crc32c) {
    }

    private final Path path;

    WriteJournal(Path path) {
        this.path = path;
    }

    public Path path() {
        return path;
    }

    /** Replaces the journal's content with {@code entries} (the ones a resumed run verified). */
    synchronized void rewrite(Iterable<Entry> entries) {
        StringBuilder sb = new StringBuilder();
        for (Entry e : entries) {
            sb.append(line(e));
        }
        try {
            Files.writeString(path, sb, StandardCharsets.UTF_8);
        } catch (IOException ex) {
            throw IoFailures.wrap("write", path, ex);
        }
    }

    private static String line(Entry e) {
        return escape(e.name()) + '\t' + e.begin() + '\t' + e.end() + '\t' + Integer.toHexString(e.crc32c()) + '\n';
    }

    synchronized void append(Entry e) {
        try {
            Files.writeString(path, line(e), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException ex) {
            throw IoFailures.wrap("write", path, ex);
        }
    }

    /** Finished tensors recorded in a journal file, in the order they finished. */
    public static Map<String, Entry> read(Path path) {
        Map<String, Entry> out = new LinkedHashMap<>();
        if (!Files.exists(path)) {
            return out;
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (IOException ex) {
            throw IoFailures.wrap("read", path, ex);
        }
        // Split on '\n' only (names may hold '\r'), and drop the part after the last '\n': a line is
        // complete only with its terminator, so a torn last line (even one that still parses, with a
        // cut-off checksum) is never trusted. Malformed UTF-8 from a torn write decodes leniently.
        int start = 0;
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] != '\n') {
                continue;
            }
            String line = new String(bytes, start, i - start, StandardCharsets.UTF_8);
            start = i + 1;
            String[] f = line.split("\t", -1);
            if (f.length != 4) {
                continue; // torn write at a crash
            }
            try {
                Entry e = new Entry(unescape(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2]), Integer.parseUnsignedInt(f[3], 16));
                out.put(e.name(), e);
            } catch (NumberFormatException ignored) {
                // torn write at a crash
            }
        }
        return out;
    }

    /** A field with tab, newline, carriage return and backslash escaped, for one-line records. */
    public static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r");
    }

    /** The inverse of {@link #escape}. */
    public static String unescape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(++i);
                sb.append(n == 't' ? '\t' : n == 'n' ? '\n' : n == 'r' ? '\r' : n);
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
