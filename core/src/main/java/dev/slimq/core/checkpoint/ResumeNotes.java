package dev.slimq.core.checkpoint;

import dev.slimq.core.IoFailures;
import dev.slimq.core.safetensors.WriteJournal;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Key/value notes a resumable run keeps beside its temp output: what a command needs, besides the
 * tensor bytes, to finish without redoing work (a plan decision, a tensor's report entry). One line
 * per note, {@code key<TAB>value<TAB>crc32c}, appended as the work finishes; a torn or damaged line is
 * ignored, so a note is either exactly what was written or absent (and the work is redone).
 */
final class ResumeNotes {
    private final Path path;

    ResumeNotes(Path path) {
        this.path = path;
    }

    Path path() {
        return path;
    }

    synchronized void append(String key, String value) {
        String k = WriteJournal.escape(key);
        String v = WriteJournal.escape(value);
        String line = k + '\t' + v + '\t' + Integer.toHexString(crc(k, v)) + '\n';
        try {
            Files.writeString(path, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw IoFailures.wrap("write", path, e);
        }
    }

    /** The notes in a file, later lines winning; empty when there is no file. */
    static Map<String, String> read(Path path) {
        Map<String, String> out = new LinkedHashMap<>();
        if (!Files.isRegularFile(path)) {
            return out;
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (IOException e) {
            return out; // unreadable notes only mean the work is redone
        }
        int start = 0;
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] != '\n') {
                continue;
            }
            String[] f = new String(bytes, start, i - start, StandardCharsets.UTF_8).split("\t", -1);
            start = i + 1;
            if (f.length != 3) {
                continue;
            }
            try {
                if (Integer.parseUnsignedInt(f[2], 16) == crc(f[0], f[1])) {
                    out.put(WriteJournal.unescape(f[0]), WriteJournal.unescape(f[1]));
                }
            } catch (NumberFormatException ignored) {
                // torn line
            }
        }
        return out;
    }

    private static int crc(String k, String v) {
        CRC32C c = new CRC32C();
        c.update((k + '\t' + v).getBytes(StandardCharsets.UTF_8));
        return (int) c.getValue();
    }
}
