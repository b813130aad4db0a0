/**
 * Progress events emitted by long-running services; rendering is the CLI's business.
 */
package dev.slimq.core.progress;
