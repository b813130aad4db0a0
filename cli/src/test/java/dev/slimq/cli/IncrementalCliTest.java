package dev.slimq.cli;

import static dev.slimq.cli.CliRun.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.io.Fingerprint;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The commands whose writers record no fingerprint themselves (calibrate, trim-vocab, and through
 * the same two calls reduce-tokens, convert and prune): an unchanged re-run is skipped without
 * touching the output, a changed option or input redoes it, and a file slimq did not write still
 * needs --force.
 */
class IncrementalCliTest {
    @TempDir
    static Path shared;
    static Path bert;

    @TempDir
    Path tmp;

    @BeforeAll
    static void model() {
        bert = shared.resolve("bert");
        SynthCheckpoint.write(SynthSpec.tinyBert(), bert);
    }

    @Test
    void calibrateSkipsWhenUpToDateAndRedoesOnChange() throws IOException {
        Path texts = tmp.resolve("texts.txt");
        Files.writeString(texts, "the quick brown fox\njumps over the lazy dog\n");
        Path out = tmp.resolve("stats.safetensors");
        assertEquals(0, run("calibrate", bert.toString(), out.toString(), "--texts", texts.toString(), "-q").code());
        assertTrue(Files.isRegularFile(Fingerprint.sidecarOf(out, Fingerprint.OUTPUT)));
        byte[] first = Files.readAllBytes(out);
        FileTime stamp = FileTime.fromMillis(1_000_000L);
        Files.setLastModifiedTime(out, stamp);

        CliRun same = run("calibrate", bert.toString(), out.toString(), "--texts", texts.toString(), "--threads", "2");
        assertEquals(0, same.code(), same.err());
        assertTrue(same.err().contains("up to date: " + out), same.err());
        assertEquals("", same.out(), "a skipped run prints no result");
        assertEquals(stamp, Files.getLastModifiedTime(out), "nothing was written");

        // Another text file content: redone without --force (the output is slimq's own, stale).
        Files.writeString(texts, "a different sentence entirely\n");
        CliRun changed = run("calibrate", bert.toString(), out.toString(), "--texts", texts.toString(), "-q");
        assertEquals(0, changed.code(), changed.err());
        assertFalse(changed.err().contains("up to date"), changed.err());
        assertFalse(java.util.Arrays.equals(first, Files.readAllBytes(out)), "other texts give other statistics");

        // --force redoes an up-to-date run: same bytes again.
        byte[] now = Files.readAllBytes(out);
        CliRun forced = run("calibrate", bert.toString(), out.toString(), "--texts", texts.toString(), "--force", "-q");
        assertEquals(0, forced.code(), forced.err());
        assertFalse(forced.err().contains("up to date"), forced.err());
        assertArrayEquals(now, Files.readAllBytes(out));
    }

    @Test
    void aFileSlimqDidNotWriteNeedsForce() throws IOException {
        Path out = tmp.resolve("foreign.safetensors");
        Files.writeString(out, "someone else's file");
        CliRun r = run("calibrate", bert.toString(), out.toString(), "-q", "--max-tokens", "64");
        assertEquals(ExitCode.USAGE.code(), r.code(), r.err());
        assertEquals("someone else's file", Files.readString(out));
        assertEquals(0, run("calibrate", bert.toString(), out.toString(), "-q", "--max-tokens", "64", "--force").code());
    }

    @Test
    void trimVocabRecordsItsFingerprintInsideTheOutputDirectory() throws IOException {
        Path corpus = tmp.resolve("corpus.txt");
        Files.writeString(corpus, "hello world\n");
        Path out = tmp.resolve("trimmed");
        assertEquals(0, run("trim-vocab", bert.toString(), out.toString(), "--corpus", corpus.toString(), "-q").code());
        assertTrue(Files.isRegularFile(out.resolve(".slimq-fingerprint.json")));
        CliRun again = run("trim-vocab", bert.toString(), out.toString(), "--corpus", corpus.toString(), "--json");
        assertEquals(0, again.code(), again.err());
        assertTrue(again.out().contains("\"up_to_date\" : true"), again.out());
        CliRun other = run("trim-vocab", bert.toString(), out.toString(), "--corpus", corpus.toString(), "--multiple-of", "8", "-q");
        assertEquals(0, other.code(), other.err());
        assertFalse(other.err().contains("up to date"), other.err());
    }
}
