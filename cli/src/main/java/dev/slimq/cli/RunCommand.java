package dev.slimq.cli;

import dev.slimq.cli.recipe.Recipe;
import dev.slimq.cli.recipe.RecipeFormatException;
import dev.slimq.cli.recipe.RecipeParser;
import dev.slimq.cli.recipe.RecipeResolver;
import dev.slimq.cli.recipe.RecipeResolver.PlannedStep;
import dev.slimq.core.Failure;
import dev.slimq.core.IoFailures;
import dev.slimq.core.SlimqException;
import dev.slimq.core.io.Fingerprint;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code slimq run RECIPE}: runs a recipe's steps in order, in this process, through the same picocli
 * machinery as typed commands, so a step behaves exactly like its printed command line.
 *
 * <p>Everything that can be checked is checked before the first step runs (structure, variables,
 * every step's options parsed by its subcommand, the final output not existing): a typo in step 4
 * must not surface after an hour of step 1. Recipe defects exit 3; the first failing step's own exit
 * code is the run's exit code, and its work directory is kept for inspection.
 *
 * <p>A finished run records a fingerprint of the recipe (every step's resolved command line, so
 * variables and environment values included), its inputs and slimq's version beside its final output
 * ({@code .slimq-recipe.json}); a re-run with the same fingerprint prints {@code up to date: OUT} and
 * runs nothing. A final output that records a slimq fingerprint (of a recipe or of its own step) is an
 * earlier slimq result and is skipped or replaced as its step decides, without {@code --force}; any
 * other existing output still needs it. The work directory of an interrupted or failed run is kept,
 * so that a re-run's steps skip what they finished and resume what they started.
 */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run a recipe: subcommand steps in order, with variables and a work directory.",
            "See examples/recipes/. Recipe errors exit 3; a failing step's exit code is passed on."})
public final class RunCommand implements Callable<Integer> {
    @ParentCommand
    SlimqCommand parent;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    RunOptions run;

    @Mixin
    IncrementalOptions incremental;

    /** The tag of the sidecar a finished recipe leaves with its final output. */
    static final String RECIPE_TAG = "recipe";

    /** Step commands that record fingerprints of their own (and take {@code --verify-inputs}). */
    static final java.util.Set<String> FINGERPRINTED = java.util.Set.of("quantize", "dequantize");

    @Parameters(index = "0", paramLabel = "RECIPE", description = "Recipe file (.yaml, .yml or .json).")
    Path recipe;

    @Option(names = "--set", paramLabel = "NAME=VALUE", description = "Set or override a variable. Repeatable.")
    List<String> sets = new ArrayList<>();

    @Option(names = "--dry-run", description = "Print the resolved steps as command lines; run nothing.")
    boolean dryRun;

    @Option(names = "--keep-work", description = "Keep the work directory after a successful run.")
    boolean keepWork;

    @Option(names = "--force", description = "Run even when the final output is up to date, and replace it if it exists "
            + "(passed to the step that writes it).")
    boolean force;

    /** One executed step for the {@code --json} summary. */
    record StepResult(int index, String name, String command, List<String> args, String commandLine, Integer exitCode,
            Long durationMs) {
    }

    /** The {@code --json} summary (schema_version 1). */
    record Summary(int schemaVersion, String recipe, boolean dryRun, int exitCode, String failedStep, String finalOutput,
            String workDir, boolean workDirKept, List<StepResult> steps, boolean upToDate) {
    }

    /**
     * {@link Main#commandLine} without progress output, with {@code run} registered even where the
     * root command does not list it yet: for tests outside this package and for embedding.
     */
    public static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine cl = Main.commandLine(out, err, ProgressRenderer.Mode.NONE);
        if (!cl.getSubcommands().containsKey("run")) {
            cl.addSubcommand("run", new RunCommand());
            // picocli hands these to the subcommands that exist when they are set: set them again.
            cl.setOut(out);
            cl.setErr(err);
            cl.setExecutionExceptionHandler(new ErrorHandler());
            cl.setParameterExceptionHandler(ErrorHandler::handleParameterException);
            cl.setCaseInsensitiveEnumValuesAllowed(true);
        }
        return cl;
    }

    @Override
    public Integer call() {
        Map<String, String> setMap = new LinkedHashMap<>();
        for (String s : sets) {
            int eq = s.indexOf('=');
            String name = eq < 0 ? s : s.substring(0, eq);
            if (eq < 0 || !RecipeResolver.isVariableName(name) || RecipeResolver.RESERVED.contains(name)) {
                throw new SlimqException(Failure.USAGE, "--set takes NAME=VALUE with a variable name (not work, prev or env), got '" + s + "'");
            }
            setMap.put(name, s.substring(eq + 1));
        }
        Recipe parsed = RecipeParser.parse(recipe);
        RecipeResolver.Plan plan = RecipeResolver.resolve(parsed, setMap, System.getenv(), force);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path finalOut = plan.finalOut() == null ? null : Path.of(plan.finalOut());
        // Of the steps as written: --force (added to the final step) only decides whether to redo.
        Fingerprint fp = finalOut == null || dryRun ? null
                : recipeFingerprint(force ? RecipeResolver.resolve(parsed, setMap, System.getenv(), false) : plan);
        if (fp != null && !force && fp.isRecordedAt(finalOut, RECIPE_TAG)) {
            err.println("up to date: " + finalOut);
            err.flush();
            if (run.json) {
                JsonOutput.print(out, new Summary(1, recipe.toString(), false, 0, null, plan.finalOut(), null, false, List.of(), true));
            }
            return ExitCode.OK.code();
        }
        // After the up-to-date check: the same resolved steps under the same slimq version parsed
        // when they ran, and a skipped re-run should cost little more than the JVM's start.
        for (PlannedStep ps : plan.steps()) {
            validate(parsed, ps);
        }
        if (finalOut != null && !force && Files.exists(finalOut, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            boolean stepRecorded = Fingerprint.recorded(finalOut, Fingerprint.OUTPUT).isPresent();
            if (!stepRecorded && Fingerprint.recorded(finalOut, RECIPE_TAG).isEmpty()) {
                throw new SlimqException(Failure.USAGE, "final output " + plan.finalOut() + " already exists; pass --force to replace it");
            }
            if (!stepRecorded) {
                // An earlier result of a recipe, now stale, from a step that keeps no fingerprint of its own.
                plan = RecipeResolver.resolve(parsed, setMap, System.getenv(), true);
            }
            // Otherwise the step that writes it compares its own fingerprint: it skips an output that
            // is still up to date (e.g. when only a later validate step failed) and replaces a stale one.
        }
        if (dryRun) {
            if (run.json) {
                List<StepResult> rs = new ArrayList<>();
                for (PlannedStep ps : plan.steps()) {
                    rs.add(result(ps, null, null));
                }
                JsonOutput.print(out, new Summary(1, recipe.toString(), true, 0, null, plan.finalOut(), plan.workDir(), false, rs, false));
            } else {
                for (PlannedStep ps : plan.steps()) {
                    out.println(ps.commandLine());
                }
                out.flush();
            }
            return ExitCode.OK.code();
        }
        int code = execute(plan, out, err);
        if (code == 0 && fp != null) {
            // Last, once the output is complete: a sidecar never vouches for an unfinished output.
            fp.writeFile(Fingerprint.sidecarOf(finalOut, RECIPE_TAG));
        }
        return code;
    }

    /**
     * The recipe as run: every step's resolved arguments (so variables, {@code --set} values and
     * environment values are in), and as inputs every step's IN and every existing file named by an
     * option, except what an earlier step of the recipe writes.
     */
    private Fingerprint recipeFingerprint(RecipeResolver.Plan plan) {
        Map<String, String> options = new java.util.TreeMap<>();
        List<Path> inputs = new ArrayList<>();
        java.util.Set<Path> written = new java.util.HashSet<>();
        Path work = plan.workDir() == null ? null : Path.of(plan.workDir()).toAbsolutePath().normalize();
        for (PlannedStep ps : plan.steps()) {
            options.put(String.format(java.util.Locale.ROOT, "step %03d", ps.step().index() + 1), String.join("\u0000", ps.argv()));
            List<String> argv = ps.argv();
            for (int i = 1; i < argv.size(); i++) {
                boolean out = i == 2 && ps.step().out() != null;
                Path p;
                try {
                    p = Path.of(argv.get(i)).toAbsolutePath().normalize();
                } catch (java.nio.file.InvalidPathException e) {
                    continue; // an option value that cannot be a path names no input
                }
                if (out) {
                    written.add(p);
                    continue;
                }
                boolean candidate = i == 1 ? Files.exists(p) : Files.isRegularFile(p);
                if (candidate && !written.contains(p) && (work == null || !p.startsWith(work)) && !inputs.contains(p)) {
                    inputs.add(p);
                }
            }
        }
        return incremental.fingerprint("run", options, inputs);
    }

    /** Parses a step's arguments with a fresh command line, executing nothing. */
    private void validate(Recipe parsed, PlannedStep ps) {
        CommandLine cl = Main.commandLine(new PrintWriter(Writer.nullWriter()), new PrintWriter(Writer.nullWriter()),
                ProgressRenderer.Mode.NONE);
        try {
            cl.parseArgs(ps.argv().toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            throw new RecipeFormatException(parsed.file(), ps.step().line(), ps.step().column(),
                    ps.step().label() + ": " + e.getMessage().replace('\n', ' ') + " [" + ps.commandLine() + "]");
        }
    }

    private int execute(RecipeResolver.Plan plan, PrintWriter out, PrintWriter err) {
        Path work = plan.usesWork() ? Path.of(plan.workDir()) : null;
        if (work != null) {
            // A work directory left by an interrupted or failed run is kept: a step output in it
            // either records its step's fingerprint (and the step skips it when still up to date, or
            // replaces it) or is removed before its step runs (below), and a step's interrupted
            // temp output is resumed only under the same fingerprint. So a re-run, even of an
            // edited recipe, redoes exactly the steps whose inputs or options changed.
            try {
                Files.createDirectories(work);
            } catch (IOException e) {
                throw IoFailures.wrap("create work directory", work, e);
            }
        }
        ProgressRenderer.Mode mode = run.quiet ? ProgressRenderer.Mode.NONE : parent.progressMode();
        // With --json, stdout carries only the summary; step results go to stderr.
        PrintWriter stepOut = run.json ? err : out;
        List<StepResult> results = new ArrayList<>();
        int n = plan.steps().size();
        for (PlannedStep ps : plan.steps()) {
            List<String> argv = new ArrayList<>(ps.argv());
            if (run.quiet && !argv.contains("--quiet") && !argv.contains("-q")) {
                argv.add("--quiet");
            }
            if (incremental.verifyInputs && FINGERPRINTED.contains(ps.step().command()) && !argv.contains("--verify-inputs")) {
                argv.add("--verify-inputs"); // the steps that keep fingerprints hash their inputs too
            }
            if (run.threads != null && argv.stream().noneMatch(a -> a.startsWith("--threads"))) {
                argv.add("--threads");
                argv.add(run.threads.toString());
            }
            if (work != null && ps.step().out() != null) {
                Path stepTarget = Path.of(argv.get(2));
                if (stepTarget.toAbsolutePath().normalize().startsWith(work.toAbsolutePath().normalize())
                        && Files.exists(stepTarget, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                        && Fingerprint.recorded(stepTarget, Fingerprint.OUTPUT).isEmpty()) {
                    // An intermediate of an interrupted run that cannot vouch for itself: made again.
                    try {
                        deleteTree(stepTarget);
                    } catch (IOException e) {
                        throw IoFailures.wrap("remove", stepTarget, e);
                    }
                }
            }
            if (!run.quiet) {
                err.println("slimq run: " + ps.step().label() + " (" + (ps.step().index() + 1) + "/" + n + "): " + ps.commandLine());
                err.flush();
            }
            long t0 = System.nanoTime();
            int code = Main.commandLine(stepOut, err, mode).execute(argv.toArray(String[]::new));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            results.add(result(ps, code, ms));
            if (code != 0) {
                err.println("slimq: error: " + ps.step().label() + " (" + (ps.step().index() + 1) + "/" + n + ") failed with exit code " + code
                        + (work != null ? "; work directory kept at " + work : ""));
                err.flush();
                summary(out, plan, code, ps.step().label(), work != null, results);
                return code;
            }
        }
        boolean kept = work != null && keepWork;
        if (work != null && !keepWork) {
            try {
                deleteTree(work);
            } catch (IOException e) {
                throw IoFailures.wrap("remove work directory", work, e);
            }
        } else if (kept && !run.quiet) {
            err.println("slimq run: work directory kept at " + work);
        }
        summary(out, plan, 0, null, kept, results);
        return ExitCode.OK.code();
    }

    private void summary(PrintWriter out, RecipeResolver.Plan plan, int code, String failed, boolean kept, List<StepResult> results) {
        if (run.json) {
            JsonOutput.print(out, new Summary(1, recipe.toString(), false, code, failed, plan.finalOut(),
                    plan.usesWork() ? plan.workDir() : null, kept, results, false));
        }
    }

    private static StepResult result(PlannedStep ps, Integer code, Long ms) {
        return new StepResult(ps.step().index() + 1, ps.step().name(), ps.step().command(), ps.argv(), ps.commandLine(), code, ms);
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
