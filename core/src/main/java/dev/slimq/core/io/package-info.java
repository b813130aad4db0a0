/**
 * File-system plumbing shared by all writers: temp outputs deleted on failure and on SIGINT/SIGTERM.
 */
package dev.slimq.core.io;
