/**
 * Data-free weight-only quantization (DESIGN.md section 3): the quantizer family (rtn, search, easyquant, finequant, hqq), the output-format writers and the quality report. Not yet implemented: see issue 3.
 */
package dev.slimq.quantize;
