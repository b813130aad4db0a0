package dev.slimq.cli;

import dev.slimq.core.io.Fingerprint;
import java.io.PrintWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;

/**
 * Incremental runs for the commands that write an output (a picocli mixin): the run's
 * {@link Fingerprint} is recorded with the output, a re-run with the same fingerprint prints
 * {@code up to date: OUT} and writes nothing, and an interrupted run with the same fingerprint is
 * resumed. {@code --force} redoes the work; a changed input, option or slimq version redoes it too.
 */
public final class IncrementalOptions {
    /**
     * Options that never change an output's bytes (how a run reports, how many threads, whether it
     * may replace), so they stay out of the fingerprint.
     */
    static final Set<String> NEUTRAL = Set.of("--json", "--quiet", "--stacktrace", "--threads", "--force", "--dry-run",
            "--verify-inputs", "--help", "--version");

    @Option(names = "--verify-inputs",
            description = "Fingerprint the inputs by hashing their bytes instead of trusting sizes and modification times.")
    boolean verifyInputs;

    /** The run's fingerprint: the command, slimq's version, every output-shaping option, the inputs. */
    Fingerprint fingerprint(CommandSpec spec, List<Path> inputs) {
        Map<String, String> options = new TreeMap<>();
        for (OptionSpec o : spec.options()) {
            if (!NEUTRAL.contains(o.longestName())) {
                Object v = o.getValue();
                options.put(o.longestName(), v == null ? "" : String.valueOf(v));
            }
        }
        return fingerprint(spec.name(), options, inputs);
    }

    Fingerprint fingerprint(String command, Map<String, String> options, List<Path> inputs) {
        return Fingerprint.of(command, version(), options, inputs, verifyInputs);
    }

    /**
     * slimq's version as the fingerprint sees it. A snapshot (or unversioned) build adds the
     * modification time of its own code, so rebuilt code never trusts outputs of the code before.
     */
    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        if (v != null && !v.endsWith("-SNAPSHOT")) {
            return v;
        }
        try {
            Path code = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return (v == null ? "development build" : v) + " " + Files.getLastModifiedTime(code).toMillis();
        } catch (URISyntaxException | java.io.IOException | RuntimeException e) {
            return v == null ? "development build" : v;
        }
    }

    /**
     * True (after saying so: {@code up to date: OUT} on stderr, and with {@code --json} a small
     * document on stdout) when {@code out} already records {@code fingerprint} and {@code force} is off.
     */
    static boolean upToDate(Path out, Fingerprint fingerprint, String tag, boolean force, boolean json, PrintWriter stdout, PrintWriter err) {
        if (force || fingerprint == null || !fingerprint.isRecordedAt(out, tag)) {
            return false;
        }
        err.println("up to date: " + out);
        err.flush();
        if (json) {
            JsonOutput.print(stdout, new UpToDate(1, true, out.toString()));
        }
        return true;
    }

    /**
     * One run of a command whose writer does not record the fingerprint itself (convert, prune,
     * trim-vocab, reduce-tokens, calibrate): {@link #upToDate} when the work can be skipped, else
     * {@link #replace} says whether the service may replace an existing output, and {@link #record}
     * is called once the output is committed.
     */
    record Started(Path out, Fingerprint fingerprint, boolean upToDate, boolean replace) {
        /** Records the fingerprint with the committed output (the sidecar is written atomically). */
        void record() {
            fingerprint.writeFile(Fingerprint.sidecarOf(out, Fingerprint.OUTPUT));
        }
    }

    /**
     * Starts a run writing {@code out} from {@code inputs}: skipped (after saying so, see
     * {@link #upToDate(Path, Fingerprint, String, boolean, boolean, PrintWriter, PrintWriter)}) when
     * {@code out} records the same fingerprint. Otherwise {@code out} may be replaced with
     * {@code force} or when it is an earlier slimq result (it records a fingerprint); that stale
     * record is removed first, so a run that dies between replacing the output and recording its
     * own fingerprint can never leave the old one claiming the new bytes.
     */
    Started start(CommandSpec spec, List<Path> inputs, Path out, boolean force, boolean json) {
        Fingerprint fp = fingerprint(spec, inputs);
        if (upToDate(out, fp, Fingerprint.OUTPUT, force, json, spec.commandLine().getOut(), spec.commandLine().getErr())) {
            return new Started(out, fp, true, false);
        }
        boolean stale = Fingerprint.recorded(out, Fingerprint.OUTPUT).isPresent();
        if (stale) {
            dev.slimq.core.io.PendingOutputs.deleteRecursively(Fingerprint.sidecarOf(out, Fingerprint.OUTPUT));
        }
        return new Started(out, fp, false, force || stale);
    }

    /** {@code first} and every path of {@code more} (absent lists skipped): the input list of a fingerprint. */
    @SafeVarargs
    static List<Path> inputsOf(Path first, List<Path>... more) {
        List<Path> all = new java.util.ArrayList<>();
        all.add(first);
        for (List<Path> m : more) {
            if (m != null) {
                all.addAll(m);
            }
        }
        return all;
    }

    /** The {@code --json} document of a skipped run. */
    record UpToDate(int schemaVersion, boolean upToDate, String output) {
    }
}
