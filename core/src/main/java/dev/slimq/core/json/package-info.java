/**
 * JSON output conventions shared by every module (Hugging Face file layout, report layout).
 */
package dev.slimq.core.json;
