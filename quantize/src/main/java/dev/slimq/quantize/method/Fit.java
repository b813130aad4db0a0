package dev.slimq.quantize.method;

/**
 * One group's quantization parameters: the fitted scale {@code s} and zero {@code z} (real numbers,
 * {@code w ≈ s·(code − z)}), the squared error {@code sse} that the fit predicts, and, once
 * {@link Grid#settle settled}, the stored scale {@code sq} and zero {@code zq}. Mutable, reused per group.
 */
final class Fit {
    double s;
    double z;
    double sse = Double.POSITIVE_INFINITY;
    float sq;
    float zq;

    static Fit[] array(int n) {
        Fit[] a = new Fit[n];
        for (int i = 0; i < n; i++) {
            a[i] = new Fit();
        }
        return a;
    }

    void set(double s, double z, double sse) {
        this.s = s;
        this.z = z;
        this.sse = sse;
    }

    void copyFrom(Fit o) {
        s = o.s;
        z = o.z;
        sse = o.sse;
        sq = o.sq;
        zq = o.zq;
    }

    /** The inverse stored scale used to compute codes; 0 for a zero group (every code is then the zero). */
    float inv() {
        return sq == 0f ? 0f : 1f / sq;
    }
}
