package dev.slimq.kernels.bench;

/**
 * One shape and batch size of a benchmark run. Times are the median over passes of one product,
 * weights streamed from memory (rotating over copies larger than any cache).
 *
 * @param shape                  {@code ROWSxCOLS} (out x in; K = cols)
 * @param scheme                 the fused kernel's weight format, e.g. {@code q4 g128 sym f16-scales}
 * @param fusedMs                fused dequant kernel, milliseconds per product
 * @param f16Ms                  f16-weight float kernel
 * @param f32Ms                  f32-weight float kernel, or null when not measured
 * @param weightBytes            bytes of weights the fused kernel streams per product (codes, scales,
 *                               zeros, outliers; padding included)
 * @param gbps                   {@code weightBytes / fusedMs}, in GB/s (1e9 bytes)
 * @param fractionOfBandwidth    {@code gbps} over the measured read bandwidth
 * @param speedupVsF16           {@code f16Ms / fusedMs}
 * @param f16Gbps                the f16 kernel's weight stream rate
 * @param f16FractionOfBandwidth the f16 kernel's fraction of the measured read bandwidth
 * @param device                 the backend's name
 * @param readBandwidthGbps      the device's read bandwidth, median of the probe passes interleaved with this entry's
 */
public record BenchEntry(String shape, int rows, int k, int batch, String scheme, double fusedMs, double f16Ms, Double f32Ms,
                         long weightBytes, double gbps, double fractionOfBandwidth, double speedupVsF16,
                         double f16Gbps, double f16FractionOfBandwidth, String device, double readBandwidthGbps) {
}
