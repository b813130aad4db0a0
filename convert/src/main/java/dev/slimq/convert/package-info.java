/**
 * Format conversion: GGUF read/write, dtype casts, resharding, Arrow export. Not yet implemented: see issue 8.
 */
package dev.slimq.convert;
