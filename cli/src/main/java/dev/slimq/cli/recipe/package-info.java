/**
 * Recipes for {@code slimq run}: a YAML or JSON file listing subcommand steps that run in order.
 *
 * <p>Parsing ({@link dev.slimq.cli.recipe.RecipeParser}) is strict on purpose: a recipe lives in a
 * release pipeline, where a misspelt key that is silently ignored means shipping a model compressed
 * with the wrong options. Every defect of the file is a {@link dev.slimq.cli.recipe.RecipeFormatException}
 * (exit 3, bad input) that names the file, line and column. Resolution
 * ({@link dev.slimq.cli.recipe.RecipeResolver}) turns the parsed recipe into plain argument vectors,
 * one per step, so that validation, {@code --dry-run} and execution all see exactly the same command
 * lines. Running them is the job of {@code dev.slimq.cli.RunCommand}, which owns the picocli machinery.
 */
package dev.slimq.cli.recipe;
