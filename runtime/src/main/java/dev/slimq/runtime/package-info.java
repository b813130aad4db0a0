/**
 * Forward passes (BERT and Llama families) for eval and calibrate. Not yet implemented: see issue 5.
 */
package dev.slimq.runtime;
