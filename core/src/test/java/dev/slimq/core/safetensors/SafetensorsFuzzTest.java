package dev.slimq.core.safetensors;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.FloatCodec;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded fuzzing of the reader: random bytes, and mutations of valid files (bit flips, byte
 * overwrites, truncations, insertions, deletions, length-prefix changes and token-level edits of the
 * JSON header) may only ever be rejected with {@link SafetensorsFormatException}; a mutant that opens
 * must map and decode every tensor without throwing.
 */
class SafetensorsFuzzTest {
    private static final long SEED = 0x5AFE_7E45L;
    private static final int CASES = 4000;

    @TempDir
    Path dir;

    private int opened;
    private final Map<SafetensorsFormatException.Reason, Integer> rejected = new EnumMap<>(SafetensorsFormatException.Reason.class);

    @Test
    @Timeout(60)
    void mutantsAndRandomBytesOnlyEverFailAsFormatErrors() throws IOException {
        List<byte[]> seeds = seedFiles();
        SplittableRandom rnd = new SplittableRandom(SEED);
        Path p = dir.resolve("fuzz.safetensors");
        for (int i = 0; i < CASES; i++) {
            byte[] content;
            int kind = rnd.nextInt(10);
            if (kind == 0) {
                content = new byte[rnd.nextInt(64)];
                rnd.nextBytes(content);
            } else if (kind == 1) {
                content = randomJsonish(rnd);
            } else if (kind == 2) {
                content = mutateKeepingValid(seeds.get(rnd.nextInt(WRITTEN_SEEDS)), rnd);
            } else {
                content = mutate(seeds.get(rnd.nextInt(seeds.size())), rnd);
            }
            Files.write(p, content);
            check(p, content, i);
        }
        // The fuzzer must actually reach both outcomes and many rules, or it tests nothing.
        assertTrue(opened > CASES / 20, "only " + opened + " mutants opened");
        assertTrue(rejected.size() >= 18, "rejections reached only " + rejected);
    }

    private void check(Path p, byte[] content, int i) {
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            opened++;
            exercise(f);
        } catch (SafetensorsFormatException e) {
            rejected.merge(e.reason(), 1, Integer::sum);
            if (e.getMessage().indexOf('\n') >= 0 || e.getMessage().indexOf('\r') >= 0) {
                fail("case " + i + ": multi-line message: " + e.getMessage());
            }
        } catch (Throwable t) {
            throw new AssertionError("case " + i + " threw " + t + " for bytes " + HexFormat.of().formatHex(content), t);
        }
    }

    /** Maps and decodes every tensor of a file that opened: none of it may throw. */
    private static void exercise(SafetensorsFile f) {
        float[] buf = new float[256];
        for (TensorInfo t : f.tensors()) {
            try (TensorView v = f.map(t.name())) {
                long n = v.elementCount();
                if (n != t.elementCount() && t.dtype() != DType.C64) {
                    throw new AssertionError(t + ": view holds " + n + " elements");
                }
                if (FloatCodec.isDecodable(t.dtype())) {
                    for (long first = 0; first < n; first += buf.length) {
                        int len = (int) Math.min(buf.length, n - first);
                        v.readFloats(first, buf, 0, len);
                    }
                    for (long k = 0; k < n; k++) {
                        v.getDouble(k);
                    }
                }
            }
            if (t.rows() > 0 && (!t.dtype().isSubByte() || t.cols() * t.dtype().bits() % 8 == 0)) {
                try (TensorView v = f.mapRows(t.name(), t.rows() - 1, 1)) {
                    if (FloatCodec.isDecodable(t.dtype()) && v.elementCount() > 0) {
                        v.getFloat(v.elementCount() - 1);
                    }
                }
            }
        }
        f.metadata().forEach((k, val) -> {
            if (k == null || val == null) {
                throw new AssertionError("null metadata");
            }
        });
    }

    // ---------------------------------------------------------------- inputs

    /** The first seeds are valid files written by the writer. */
    private static final int WRITTEN_SEEDS = 3;

    private List<byte[]> seedFiles() throws IOException {
        List<byte[]> seeds = new ArrayList<>();
        // Files written by the writer, over every dtype, with metadata and zero-size tensors.
        List<TensorInfo> ts = new ArrayList<>();
        for (DType d : DType.values()) {
            ts.add(TensorInfo.planned("w." + d.wireName(), d, 2, 4));
        }
        ts.add(TensorInfo.planned("empty", DType.F32, 0, 3));
        ts.add(TensorInfo.planned("scalar", DType.BF16));
        seeds.add(write(WritePlan.of(ts, Map.of("note", "fuzz \u00e9\n"))));
        seeds.add(write(WritePlan.of(List.of(TensorInfo.planned("a", DType.F8_E4M3, 3), TensorInfo.planned("b", DType.F4, 4)))));
        seeds.add(write(WritePlan.of(List.of())));
        // Hand-written valid headers with unknown fields and padding.
        seeds.add(StFiles.bytes("{\"t\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4],\"x\":[1,{\"y\":null}]}}  ", new byte[4]));
        seeds.add(StFiles.bytes("{\"__metadata__\":null,\"u\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]}}", new byte[] {1, 2, 3}));
        // And every committed hostile file.
        try (Stream<Path> s = Files.list(StFiles.hostileDir())) {
            for (Path h : s.filter(x -> x.toString().endsWith(".safetensors")).sorted().toList()) {
                seeds.add(Files.readAllBytes(h));
            }
        }
        return seeds;
    }

    private byte[] write(WritePlan plan) throws IOException {
        Path target = dir.resolve("seed.safetensors");
        SplittableRandom rnd = new SplittableRandom(plan.tensors().size());
        try (SafetensorsWriter w = SafetensorsWriter.create(target, plan)) {
            for (TensorInfo t : plan.tensors()) {
                byte[] b = new byte[(int) t.byteCount()];
                rnd.nextBytes(b);
                w.write(t.name(), ByteBuffer.wrap(b));
            }
            w.commit();
        }
        return Files.readAllBytes(target);
    }

    private static final String[] TOKENS = {
        "0", "1", "-1", "-0", "2", "4", "8", "16", "9223372036854775807", "9223372036854775808", "18446744073709551615",
        "18446744073709551616", "4294967296", "1e3", "1.5", "null", "true", "[]", "{}", "[0]", "[0,0]", "[1,0]", "\"\"",
        "\"F4\"", "\"F6_E2M3\"", "\"C64\"", "\"U64\"", "\"BOOL\"", "\"F8_E8M0\"", "\"__metadata__\"", "\"dtype\"", "\"shape\"",
        "\"data_offsets\"", "\"\\ud800\"", "\"\\u0000\"", ",", ":", "{", "}", "[", "]", " ", "\"", "\\",
        "\"\\ud83d\\ude00\"", "[[[[[[[[[[]]]]]]]]]]", "\"format\"", "\"pt\"", "[2,18446744073709551614]"
    };

    private static byte[] randomJsonish(SplittableRandom rnd) {
        StringBuilder sb = new StringBuilder("{");
        int n = rnd.nextInt(12);
        for (int i = 0; i < n; i++) {
            sb.append(TOKENS[rnd.nextInt(TOKENS.length)]);
        }
        sb.append('}');
        byte[] data = new byte[rnd.nextInt(20)];
        rnd.nextBytes(data);
        return StFiles.bytes(sb.toString(), data);
    }

    private static final String INTERESTING = "{}[]\",:0-9 \\eE.\u0000\u00ff";

    static byte[] mutate(byte[] in, SplittableRandom rnd) {
        byte[] b = in.clone();
        int rounds = 1 + rnd.nextInt(3);
        for (int r = 0; r < rounds; r++) {
            if (b.length == 0) {
                b = new byte[] {(byte) rnd.nextInt(256)};
            }
            switch (rnd.nextInt(9)) {
                case 0 -> { // flip 1..8 bits
                    int flips = 1 + rnd.nextInt(8);
                    for (int k = 0; k < flips; k++) {
                        int pos = rnd.nextInt(b.length);
                        b[pos] ^= (byte) (1 << rnd.nextInt(8));
                    }
                }
                case 1 -> b[rnd.nextInt(b.length)] = (byte) INTERESTING.charAt(rnd.nextInt(INTERESTING.length()));
                case 2 -> b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length + 1)); // truncate
                case 3 -> { // insert random bytes
                    int pos = rnd.nextInt(b.length + 1);
                    byte[] ins = new byte[1 + rnd.nextInt(8)];
                    rnd.nextBytes(ins);
                    b = splice(b, pos, 0, ins);
                }
                case 4 -> { // delete a range
                    int pos = rnd.nextInt(b.length);
                    b = splice(b, pos, Math.min(b.length - pos, 1 + rnd.nextInt(8)), new byte[0]);
                }
                case 5 -> { // new length prefix: near the truth, or anything
                    if (b.length >= 8) {
                        long n = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
                        long m = rnd.nextBoolean() ? n + rnd.nextInt(17) - 8 : rnd.nextLong();
                        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, m);
                    }
                }
                case 6, 7 -> b = mutateHeaderToken(b, rnd);
                default -> { // append or chop data bytes
                    b = rnd.nextBoolean() ? splice(b, b.length, 0, new byte[1 + rnd.nextInt(4)])
                            : java.util.Arrays.copyOf(b, Math.max(0, b.length - 1 - rnd.nextInt(4)));
                }
            }
        }
        return b;
    }

    /**
     * Mutations that keep a valid file valid, so that decoding is fuzzed too: random data bytes, and
     * dtypes swapped for others of the same width (the header is rebuilt with its new length).
     */
    private static byte[] mutateKeepingValid(byte[] in, SplittableRandom rnd) {
        long n = ByteBuffer.wrap(in).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        String header = new String(in, 8, (int) n, StandardCharsets.UTF_8);
        byte[] data = java.util.Arrays.copyOfRange(in, 8 + (int) n, in.length);
        for (int k = 0; k < data.length; k++) {
            if (rnd.nextInt(4) == 0) {
                data[k] = (byte) rnd.nextInt(256);
            }
        }
        String[][] sameWidth = {
            {"\"F8_E4M3\"", "\"F8_E5M2\"", "\"F8_E8M0\"", "\"F8_E4M3FNUZ\"", "\"F8_E5M2FNUZ\"", "\"U8\"", "\"I8\"", "\"BOOL\""},
            {"\"F16\"", "\"BF16\"", "\"I16\"", "\"U16\""},
            {"\"F32\"", "\"I32\"", "\"U32\""},
            {"\"F64\"", "\"I64\"", "\"U64\"", "\"C64\""},
            {"\"F6_E2M3\"", "\"F6_E3M2\""},
        };
        String[] group = sameWidth[rnd.nextInt(sameWidth.length)];
        String from = group[rnd.nextInt(group.length)];
        String to = group[rnd.nextInt(group.length)];
        int at = header.indexOf(from);
        if (at >= 0) {
            header = header.substring(0, at) + to + header.substring(at + from.length());
        }
        return StFiles.bytes(header, data);
    }

    /** Replaces a JSON token of the header with another from {@link #TOKENS}, keeping the length prefix right. */
    private static byte[] mutateHeaderToken(byte[] b, SplittableRandom rnd) {
        if (b.length < 8) {
            return b;
        }
        long n = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        if (n < 2 || n > b.length - 8) {
            return b;
        }
        String header = new String(b, 8, (int) n, StandardCharsets.ISO_8859_1);
        // A token: a run of digits/minus, a quoted string or a single structural character.
        int start = rnd.nextInt(header.length());
        int end = start + 1;
        char c = header.charAt(start);
        if (Character.isDigit(c) || c == '-') {
            while (end < header.length() && Character.isDigit(header.charAt(end))) {
                end++;
            }
        } else if (c == '"') {
            int close = header.indexOf('"', start + 1);
            end = close < 0 ? header.length() : close + 1;
        }
        String mutated = header.substring(0, start) + TOKENS[rnd.nextInt(TOKENS.length)] + header.substring(end);
        byte[] h = mutated.getBytes(StandardCharsets.ISO_8859_1);
        byte[] data = java.util.Arrays.copyOfRange(b, 8 + (int) n, b.length);
        return StFiles.bytes(h, data);
    }

    private static byte[] splice(byte[] b, int pos, int remove, byte[] insert) {
        byte[] out = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, out, 0, pos);
        System.arraycopy(insert, 0, out, pos, insert.length);
        System.arraycopy(b, pos + remove, out, pos + insert.length, b.length - pos - remove);
        return out;
    }
}
