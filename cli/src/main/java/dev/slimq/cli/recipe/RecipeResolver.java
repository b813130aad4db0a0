package dev.slimq.cli.recipe;

import dev.slimq.cli.recipe.Recipe.ArgValue;
import dev.slimq.cli.recipe.Recipe.Step;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Substitutes variables and turns each step into the argument vector of its subcommand.
 *
 * <p>Variables: {@code ${name}} from the recipe's {@code vars}, overridden (or added) by
 * {@code --set name=value}; {@code ${env:NAME}} from the environment; {@code ${work}}, the work
 * directory; {@code ${prev}}, the {@code out} of the nearest earlier step that has one. A {@code vars}
 * value may use other variables. {@code $${} is a literal {@code ${}. An unknown or unset variable is
 * an error, never an empty string: an empty path silently turns into the current directory.
 *
 * <p>The work directory is {@code .NAME.slimq-work} next to the final output (the {@code out} of the
 * last step that writes), so intermediates land on the same file system as the result. The final
 * output may therefore not itself use {@code ${work}}.
 */
public final class RecipeResolver {
    /** Names with a meaning of their own, not definable in {@code vars} or {@code --set}. */
    public static final Set<String> RESERVED = Set.of("work", "prev", "env");

    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_-]*");

    private final Recipe recipe;
    private final Map<String, String> vars;
    private final Map<String, String> env;
    private String work;
    private boolean workUsed;

    /**
     * A resolved recipe.
     *
     * @param steps    each step with its argument vector (subcommand name first)
     * @param finalOut the last written output, null when no step writes
     * @param workDir  the work directory, null when no step writes
     * @param usesWork whether any step refers to {@code ${work}} (only then is it created)
     */
    public record Plan(List<PlannedStep> steps, String finalOut, String workDir, boolean usesWork) {
    }

    /** A step and the exact arguments that run it. */
    public record PlannedStep(Step step, List<String> argv) {
        /** {@code slimq ARGS}, shell-quoted, for plans and messages. */
        public String commandLine() {
            StringBuilder sb = new StringBuilder("slimq");
            for (String a : argv) {
                sb.append(' ').append(shellQuote(a));
            }
            return sb.toString();
        }
    }

    private RecipeResolver(Recipe recipe, Map<String, String> sets, Map<String, String> env) {
        this.recipe = recipe;
        this.env = env;
        this.vars = new LinkedHashMap<>(recipe.vars());
        this.vars.putAll(sets);
    }

    /** Whether {@code s} may name a variable. */
    public static boolean isVariableName(String s) {
        return NAME.matcher(s).matches();
    }

    /**
     * Resolves {@code recipe}.
     *
     * @param sets  {@code --set} values (already split at '=')
     * @param env   the environment for {@code ${env:NAME}}
     * @param force add {@code --force} to the step that writes the final output
     */
    public static Plan resolve(Recipe recipe, Map<String, String> sets, Map<String, String> env, boolean force) {
        return new RecipeResolver(recipe, sets, env).plan(force);
    }

    private Plan plan(boolean force) {
        Step last = null;
        for (Step s : recipe.steps()) {
            if (s.out() != null) {
                last = s;
            }
        }
        String finalOut = null;
        if (last != null) {
            finalOut = substitute(last.out(), last, null, "'out'");
            if (workUsed) {
                throw error(last, "the final output must not be inside ${work}, which is removed on success");
            }
            Path fo = Path.of(finalOut).normalize();
            if (fo.getFileName() == null || fo.getFileName().toString().isEmpty() || fo.getFileName().toString().equals("..")) {
                throw error(last, "the final output '" + finalOut + "' names no file or directory");
            }
            Path parent = fo.getParent();
            String dirName = "." + fo.getFileName() + ".slimq-work";
            work = parent == null ? dirName : parent.resolve(dirName).toString();
        }
        List<PlannedStep> planned = new ArrayList<>();
        String prev = null;
        for (Step s : recipe.steps()) {
            List<String> argv = new ArrayList<>();
            argv.add(s.command());
            argv.add(substitute(s.in(), s, prev, "'in'"));
            String out = null;
            if (s.out() != null) {
                out = substitute(s.out(), s, prev, "'out'");
                argv.add(out);
            }
            for (Map.Entry<String, ArgValue> a : s.args().entrySet()) {
                String option = a.getKey().startsWith("-") ? a.getKey() : "--" + a.getKey();
                String where = "option '" + a.getKey() + "'";
                switch (a.getValue()) {
                    case ArgValue.Flag f -> {
                        if (f.on()) {
                            argv.add(option);
                        }
                    }
                    case ArgValue.Scalar v -> addOption(argv, option, substitute(v.text(), s, prev, where));
                    case ArgValue.Many m -> {
                        for (String t : m.texts()) {
                            addOption(argv, option, substitute(t, s, prev, where));
                        }
                    }
                }
            }
            if (force && s == last && !argv.contains("--force")) {
                argv.add("--force");
            }
            planned.add(new PlannedStep(s, List.copyOf(argv)));
            if (out != null) {
                prev = out;
            }
        }
        return new Plan(List.copyOf(planned), finalOut, work, workUsed);
    }

    /** {@code --opt value}, or {@code --opt=value} when the value could be taken for an option. */
    private static void addOption(List<String> argv, String option, String value) {
        if (value.startsWith("-")) {
            argv.add(option + "=" + value);
        } else {
            argv.add(option);
            argv.add(value);
        }
    }

    private String substitute(String text, Step step, String prev, String where) {
        return substitute(text, step, prev, where, new LinkedHashSet<>());
    }

    private String substitute(String text, Step step, String prev, String where, LinkedHashSet<String> resolving) {
        StringBuilder sb = new StringBuilder();
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (c == '$' && text.startsWith("$${", i)) {
                sb.append("${");
                i += 3;
                continue;
            }
            if (c == '$' && text.startsWith("${", i)) {
                int end = text.indexOf('}', i + 2);
                if (end < 0) {
                    throw error(step, where + ": unterminated '${' in '" + text + "'");
                }
                String name = text.substring(i + 2, end);
                sb.append(lookup(name, step, prev, where, resolving));
                i = end + 1;
                continue;
            }
            sb.append(c);
            i++;
        }
        return sb.toString();
    }

    private String lookup(String name, Step step, String prev, String where, LinkedHashSet<String> resolving) {
        if (name.startsWith("env:")) {
            String e = env.get(name.substring(4));
            if (e == null) {
                throw error(step, where + ": environment variable '" + name.substring(4) + "' is not set");
            }
            return e;
        }
        switch (name) {
            case "work" -> {
                workUsed = true;
                if (work == null) {
                    throw error(step, where + ": ${work} needs a step that writes an 'out' (the work directory goes next to it)");
                }
                return work;
            }
            case "prev" -> {
                if (step == null || prev == null) {
                    throw error(step, where + ": ${prev} needs an earlier step with an 'out'");
                }
                return prev;
            }
            default -> {
            }
        }
        String raw = vars.get(name);
        if (raw == null) {
            throw error(step, where + ": unknown variable '${" + name + "}'; define it under 'vars' or pass --set "
                    + name + "=VALUE" + (vars.isEmpty() ? "" : " (defined: " + String.join(", ", vars.keySet()) + ")"));
        }
        if (!resolving.add(name)) {
            throw error(step, where + ": variables refer to each other in a cycle: " + String.join(" -> ", resolving) + " -> " + name);
        }
        // A vars value is resolved without ${prev}: it means the same thing in every step.
        String value = substitute(raw, step, null, "variable '" + name + "'", resolving);
        resolving.remove(name);
        return value;
    }

    private RecipeFormatException error(Step step, String message) {
        return step == null
                ? new RecipeFormatException(recipe.file(), 1, 1, message)
                : new RecipeFormatException(recipe.file(), step.line(), step.column(), step.label() + ": " + message);
    }

    /** POSIX shell quoting: bare when safe, else single quotes. */
    static String shellQuote(String s) {
        if (!s.isEmpty() && s.matches("[A-Za-z0-9_@%+=:,./-]+")) {
            return s;
        }
        return "'" + s.replace("'", "'\"'\"'") + "'";
    }
}
