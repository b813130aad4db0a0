/**
 * OpenCL kernels, the JOCL runtime and the OpenCL ComputeBackend; the only module that imports JOCL. Not yet implemented: see issue 4.
 */
package dev.slimq.kernels;
