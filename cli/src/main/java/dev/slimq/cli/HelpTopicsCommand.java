package dev.slimq.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help;
import picocli.CommandLine.Parameters;

/**
 * {@code slimq help [COMMAND | TOPIC]}: picocli's help command ({@code help COMMAND} prints that
 * command's usage, {@code help} the root's) plus topics that belong to no single command, such as
 * {@code exit-codes}. picocli's own {@code HelpCommand} is final, hence this replacement.
 */
@Command(name = "help", helpCommand = true,
        description = "Print help for a command, or a help topic: exit-codes.")
final class HelpTopicsCommand implements CommandLine.IHelpCommandInitializable2, Runnable {

    /** Topic name to the lines it prints. */
    static final Map<String, List<String>> TOPICS = Map.of("exit-codes", ExitCode.table());

    @CommandLine.Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help message and exit.")
    boolean helpRequested;

    @Parameters(paramLabel = "COMMAND|TOPIC", arity = "0..*",
            description = "The command to show the usage of (and its subcommands), or a topic: exit-codes.")
    String[] names = {};

    private CommandLine self;
    private Help.ColorScheme colorScheme;

    @Override
    public void init(CommandLine helpCommandLine, Help.ColorScheme colorScheme, PrintWriter out, PrintWriter err) {
        this.self = helpCommandLine;
        this.colorScheme = colorScheme;
    }

    @Override
    public void run() {
        CommandLine parent = self.getParent();
        PrintWriter out = self.getOut();
        if (names.length == 0) {
            parent.usage(out, colorScheme);
            return;
        }
        List<String> topic = TOPICS.get(names[0]);
        if (topic != null && names.length == 1) {
            topic.forEach(out::println);
            out.flush();
            return;
        }
        CommandLine target = parent;
        for (String name : names) {
            CommandLine sub = target.getSubcommands().get(name);
            if (sub == null) {
                throw new CommandLine.ParameterException(self, "Unknown subcommand or help topic '" + name + "'."
                        + " Topics: " + String.join(", ", TOPICS.keySet().stream().sorted().toList()) + ".", null, name);
            }
            target = sub;
        }
        target.usage(out, colorScheme);
    }
}
