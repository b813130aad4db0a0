package dev.slimq.core.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When two runs count as the same: inputs, options and version in, sidecars beside the output. */
class FingerprintTest {
    @TempDir
    Path dir;

    Path model;

    @BeforeEach
    void model() throws IOException {
        model = dir.resolve("model");
        Files.createDirectories(model);
        Files.write(model.resolve("model.safetensors"), safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4));
        Files.writeString(model.resolve("config.json"), "{}");
    }

    /** A minimal safetensors file: length, header, zero data bytes. */
    private static byte[] safetensors(String header, int dataBytes) {
        byte[] h = header.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + h.length + dataBytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        return b.array();
    }

    private Fingerprint fp(Map<String, String> options, String version, boolean verify) {
        return Fingerprint.of("quantize", version, options, List.of(model), verify);
    }

    @Test
    void sameRunSameFingerprint() {
        assertEquals(fp(Map.of("--bits", "4"), "1.0", false), fp(Map.of("--bits", "4"), "1.0", false));
        assertEquals(fp(Map.of("--bits", "4"), "1.0", true), fp(Map.of("--bits", "4"), "1.0", true));
    }

    @Test
    void optionVersionAndCommandChangeIt() {
        Fingerprint base = fp(Map.of("--bits", "4"), "1.0", false);
        assertNotEquals(base, fp(Map.of("--bits", "8"), "1.0", false));
        assertNotEquals(base, fp(Map.of("--bits", "4", "--symmetric", "true"), "1.0", false));
        assertNotEquals(base, fp(Map.of("--bits", "4"), "1.1", false));
        assertNotEquals(base, Fingerprint.of("dequantize", "1.0", Map.of("--bits", "4"), List.of(model), false));
        assertNotEquals(base, fp(Map.of("--bits", "4"), "1.0", true), "hashing is a different kind of fingerprint");
    }

    @Test
    void touchingAnInputChangesIt() throws IOException {
        Fingerprint before = fp(Map.of(), "1", false);
        Path config = model.resolve("config.json");
        Files.setLastModifiedTime(config, FileTime.fromMillis(Files.getLastModifiedTime(config).toMillis() + 2000));
        assertNotEquals(before, fp(Map.of(), "1", false));
    }

    @Test
    void addingAFileChangesItButHiddenFilesDoNot() throws IOException {
        Fingerprint before = fp(Map.of(), "1", false);
        Files.writeString(model.resolve(".slimq-fingerprint.json"), "{}");
        Files.createDirectories(model.resolve(".cache"));
        Files.writeString(model.resolve(".cache/x"), "x");
        assertEquals(before, fp(Map.of(), "1", false), "sidecars and temp names are not inputs");
        Files.writeString(model.resolve("tokenizer.json"), "{}");
        assertNotEquals(before, fp(Map.of(), "1", false));
    }

    @Test
    void verifyInputsSeesNewBytesBehindAnUnchangedTime() throws IOException {
        Path weights = model.resolve("model.safetensors");
        FileTime t = Files.getLastModifiedTime(weights);
        Fingerprint trusting = fp(Map.of(), "1", false);
        Fingerprint verified = fp(Map.of(), "1", true);
        byte[] b = Files.readAllBytes(weights);
        b[b.length - 1] ^= 0x40; // a data byte: same size, same header
        Files.write(weights, b);
        Files.setLastModifiedTime(weights, t);
        assertEquals(trusting, fp(Map.of(), "1", false), "size and time unchanged: trusted (the documented limit)");
        assertNotEquals(verified, fp(Map.of(), "1", true), "--verify-inputs hashes the bytes");
    }

    @Test
    void aChangedHeaderIsSeenEvenWithTheSameSizeAndTime() throws IOException {
        Path weights = model.resolve("model.safetensors");
        FileTime t = Files.getLastModifiedTime(weights);
        Fingerprint before = fp(Map.of(), "1", false);
        Files.write(weights, safetensors("{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4));
        Files.setLastModifiedTime(weights, t);
        assertNotEquals(before, fp(Map.of(), "1", false));
    }

    @Test
    void sidecarsLiveInsideDirectoriesAndBesideFiles() throws IOException {
        Path outDir = Files.createDirectories(dir.resolve("out"));
        Path outFile = Files.writeString(dir.resolve("out.safetensors"), "x");
        assertEquals(outDir.resolve(".slimq-fingerprint.json"), Fingerprint.sidecarOf(outDir, Fingerprint.OUTPUT));
        assertEquals(dir.resolve(".out.safetensors.slimq-recipe.json"), Fingerprint.sidecarOf(outFile, "recipe"));

        Fingerprint f = fp(Map.of("--bits", "4"), "1", false);
        assertFalse(f.isRecordedAt(outDir, Fingerprint.OUTPUT));
        f.writeFile(Fingerprint.sidecarOf(outDir, Fingerprint.OUTPUT));
        assertTrue(f.isRecordedAt(outDir, Fingerprint.OUTPUT));
        assertFalse(fp(Map.of("--bits", "8"), "1", false).isRecordedAt(outDir, Fingerprint.OUTPUT));
        assertFalse(f.isRecordedAt(dir.resolve("missing"), Fingerprint.OUTPUT), "no output, nothing recorded");

        Files.writeString(Fingerprint.sidecarOf(outDir, Fingerprint.OUTPUT), "{\"torn\": ");
        assertTrue(Fingerprint.recorded(outDir, Fingerprint.OUTPUT).isEmpty(), "a damaged sidecar counts as none");
    }
}
