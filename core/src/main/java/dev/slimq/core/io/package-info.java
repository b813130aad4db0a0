/**
 * File-system plumbing shared by all writers: temp outputs deleted on failure and on SIGINT/SIGTERM
 * ({@link dev.slimq.core.io.PendingOutputs}), and the {@link dev.slimq.core.io.Fingerprint} a run
 * records beside its output so that a re-run can tell it is up to date or resume it.
 */
package dev.slimq.core.io;
