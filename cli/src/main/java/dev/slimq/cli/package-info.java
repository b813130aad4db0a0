/**
 * The picocli layer: one class per subcommand, shared options as the {@link dev.slimq.cli.RunOptions}
 * mixin, errors turned into exit codes at one boundary ({@link dev.slimq.cli.ErrorHandler}), progress
 * rendered on stderr. Commands map options to a service call and print the result; no work is done
 * here.
 */
package dev.slimq.cli;
