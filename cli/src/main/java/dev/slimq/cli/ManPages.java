package dev.slimq.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Help;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * Writes what the packaged image ships besides the jar: a roff man page per command
 * ({@code slimq.1}, {@code slimq-inspect.1}, ...) and the bash completion script, both from the
 * same picocli model the CLI parses with, so they cannot drift from the options. Run by
 * scripts/package.sh: {@code java -cp ... dev.slimq.cli.ManPages OUT_DIR}. picocli-codegen's
 * generator writes AsciiDoc, which needs asciidoctor to become roff; the man(7) subset used here
 * is small enough to write directly.
 */
public final class ManPages {
    private ManPages() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            // A build tool, not a slimq command: no exit-code mapping (only Main calls System.exit).
            throw new IllegalArgumentException("usage: ManPages OUT_DIR   (writes man/man1/*.1 and bash-completion/slimq)");
        }
        CommandLine root = Main.commandLine(new java.io.PrintWriter(System.out), new java.io.PrintWriter(System.err), ProgressRenderer.Mode.NONE);
        Path out = Path.of(args[0]);
        Path man = Files.createDirectories(out.resolve("man/man1"));
        for (CommandSpec c : commands(root.getCommandSpec())) {
            Files.writeString(man.resolve(pageName(c) + ".1"), page(c), StandardCharsets.UTF_8);
        }
        Path completion = Files.createDirectories(out.resolve("bash-completion"));
        Files.writeString(completion.resolve("slimq"), AutoComplete.bash("slimq", root), StandardCharsets.UTF_8);
    }

    /** The root command and every subcommand below it, depth first, in declaration order. */
    static List<CommandSpec> commands(CommandSpec root) {
        List<CommandSpec> all = new ArrayList<>();
        all.add(root);
        for (CommandLine sub : root.subcommands().values()) {
            if (!sub.getCommandSpec().usageMessage().hidden() && sub.getCommandSpec().parent() == root
                    && !all.contains(sub.getCommandSpec())) {
                all.addAll(commands(sub.getCommandSpec()));
            }
        }
        return all;
    }

    /** {@code slimq}, {@code slimq-inspect}: the qualified name with dashes, as git's pages are named. */
    static String pageName(CommandSpec c) {
        return c.qualifiedName("-");
    }

    /** The man(7) page of one command. */
    static String page(CommandSpec c) {
        StringBuilder r = new StringBuilder();
        String version = VersionProvider.version();
        r.append(".TH ").append(quoteArg(pageName(c).toUpperCase(Locale.ROOT))).append(" 1 \"\" ")
                .append(quoteArg("slimq " + version)).append(" \"slimq manual\"\n");
        r.append(".SH NAME\n").append(escape(pageName(c))).append(" \\- ").append(escape(summary(c))).append('\n');
        r.append(".SH SYNOPSIS\n");
        String synopsis = new Help(c, Help.defaultColorScheme(Help.Ansi.OFF)).synopsis(0).strip();
        r.append(".nf\n").append(escapeLines(synopsis)).append(".fi\n");
        // picocli prints the header above the usage line and the description below it; the
        // header is the one-line summary (NAME), the description the rest.
        String[] header = c.usageMessage().header();
        List<String> body = new ArrayList<>(List.of(c.usageMessage().description()));
        if (header.length > 1 || body.isEmpty()) {
            body.addAll(0, List.of(header));
        }
        if (body.size() == 1 && body.get(0).strip().replaceAll("\\.$", "").equals(summary(c))) {
            body.clear();
        }
        if (!body.isEmpty()) {
            r.append(".SH DESCRIPTION\n");
            paragraphs(r, body);
        }
        List<PositionalParamSpec> params = c.positionalParameters().stream().filter(p -> !p.hidden()).toList();
        if (!params.isEmpty()) {
            r.append(".SH ARGUMENTS\n");
            for (PositionalParamSpec p : params) {
                r.append(".TP\n\\fI").append(escape(p.paramLabel())).append("\\fR\n");
                paragraphs(r, description(p));
            }
        }
        List<OptionSpec> options = c.options().stream().filter(o -> !o.hidden()).toList();
        if (!options.isEmpty()) {
            r.append(".SH OPTIONS\n");
            for (OptionSpec o : options) {
                r.append(".TP\n").append(optionHead(o)).append('\n');
                paragraphs(r, description(o));
            }
        }
        List<CommandSpec> subs = c.subcommands().values().stream().map(CommandLine::getCommandSpec)
                .filter(s -> !s.usageMessage().hidden() && s.parent() == c).distinct().toList();
        if (!subs.isEmpty()) {
            r.append(".SH COMMANDS\n");
            for (CommandSpec s : subs) {
                r.append(".TP\n\\fB").append(escape(s.name())).append("\\fR\n")
                        .append(escapeLine(summary(s))).append(". See \\fB")
                        .append(escape(pageName(s))).append("\\fR(1).\n");
            }
        }
        List<String> footer = new ArrayList<>(List.of(c.usageMessage().footer()));
        footer.removeIf(l -> l.isBlank() || l.startsWith("Exit codes:") || l.contains("slimq help exit-codes"));
        if (!footer.isEmpty()) {
            r.append(".SH NOTES\n");
            paragraphs(r, footer);
        }
        r.append(".SH EXIT STATUS\n.nf\n").append(escapeLines(String.join("\n", ExitCode.table().subList(2, ExitCode.table().size()))))
                .append(".fi\n");
        r.append(".SH SEE ALSO\n");
        if (c.parent() == null) {
            List<String> refs = subs.stream().map(s -> "\\fB" + escape(pageName(s)) + "\\fR(1)").toList();
            r.append(String.join(",\n", refs)).append('\n');
        } else {
            r.append("\\fB").append(escape(pageName(c.root()))).append("\\fR(1)\n");
        }
        return r.toString();
    }

    /** {@code \fB-q\fR, \fB--quiet\fR} or {@code \fB--threads\fR=\fIN\fR}. */
    static String optionHead(OptionSpec o) {
        List<String> names = new ArrayList<>();
        for (String n : o.names()) {
            names.add("\\fB" + escape(n) + "\\fR");
        }
        String head = String.join(", ", names);
        if (o.arity().max() > 0) {
            head += "=\\fI" + escape(o.paramLabel()) + "\\fR";
        }
        return head;
    }

    /** An option's or parameter's description lines with picocli's default and candidate variables filled in. */
    private static List<String> description(ArgSpec a) {
        List<String> lines = new ArrayList<>();
        for (String l : a.description()) {
            String candidates = "";
            if (a.completionCandidates() != null) {
                List<String> cs = new ArrayList<>();
                a.completionCandidates().forEach(cs::add);
                candidates = String.join(", ", cs);
            }
            lines.add(l.replace("${DEFAULT-VALUE}", String.valueOf(a.defaultValueString()))
                    .replace("${COMPLETION-CANDIDATES}", candidates));
        }
        return lines;
    }

    /** Description lines as roff text: blank lines start a new paragraph. */
    private static void paragraphs(StringBuilder r, List<String> lines) {
        boolean pending = false;
        for (String l : lines) {
            if (l.isBlank()) {
                pending = true;
                continue;
            }
            if (pending) {
                r.append(".PP\n");
                pending = false;
            }
            r.append(escapeLine(l.strip().replace("%n", " "))).append('\n');
        }
    }

    /** The one-line summary: the header's first line, else the description's, without a final period. */
    static String summary(CommandSpec c) {
        String[] lines = c.usageMessage().header().length > 0 ? c.usageMessage().header() : c.usageMessage().description();
        return lines.length == 0 ? "" : lines[0].strip().replaceAll("\\.$", "");
    }

    private static String escapeLines(String text) {
        StringBuilder b = new StringBuilder();
        for (String l : text.split("\n", -1)) {
            if (!l.isEmpty()) {
                b.append(escapeLine(l.stripTrailing())).append('\n');
            }
        }
        return b.toString();
    }

    /**
     * One line of running text for roff: {@link #escape} plus a zero-width {@code \&} before a
     * leading {@code .} or {@code '}, which roff would otherwise read as a request.
     */
    static String escapeLine(String s) {
        String e = escape(s);
        return e.startsWith(".") || e.startsWith("'") ? "\\&" + e : e;
    }

    /**
     * Text escaped for roff: a backslash becomes {@code \e} (it starts escapes), a hyphen
     * {@code \-} (a real minus, so option names copy and paste and man's search finds them), a
     * character outside ASCII {@code \[uXXXX]} (groff and mandoc read it whatever the locale).
     */
    static String escape(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().forEach(cp -> {
            switch (cp) {
                case '\\' -> b.append("\\e");
                case '-' -> b.append("\\-");
                default -> {
                    if (cp < 128) {
                        b.appendCodePoint(cp);
                    } else {
                        b.append(String.format(Locale.ROOT, "\\[u%04X]", cp));
                    }
                }
            }
        });
        return b.toString();
    }

    private static String quoteArg(String s) {
        return "\"" + escape(s).replace("\"", "\\(dq") + "\"";
    }
}
