package dev.slimq.kernels.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.compute.ComputeBackend;
import dev.slimq.core.compute.CpuBackend;
import dev.slimq.kernels.OpenClBackend;
import dev.slimq.kernels.OpenClRuntime;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The benchmark's bookkeeping on tiny shapes (numbers are not judged here, only their consistency). */
class KernelBenchTest {

    static BenchSettings tiny(boolean f32) {
        return new BenchSettings(List.of(new BenchSettings.Shape(64, 256), new BenchSettings.Shape(33, 384)), List.of(1, 3), 4, 128, "int", 3,
                1 << 20, 0, 1 << 20, f32);
    }

    static void check(ComputeBackend b, boolean f32) {
        List<String> progress = new ArrayList<>();
        KernelBench.Report r = KernelBench.run(b, tiny(f32), progress::add);
        assertEquals(4, r.entries().size());
        assertTrue(r.readBandwidthGbps() > 0);
        for (BenchEntry e : r.entries()) {
            assertTrue(e.fusedMs() > 0 && e.f16Ms() > 0 && e.gbps() > 0 && e.speedupVsF16() > 0, e.toString());
            assertEquals(e.gbps() / e.readBandwidthGbps(), e.fractionOfBandwidth(), 0.01 * e.fractionOfBandwidth() + 1e-3);
            assertEquals(e.f16Ms() / e.fusedMs(), e.speedupVsF16(), 0.01 * e.speedupVsF16() + 1e-3);
            assertTrue(e.scheme().startsWith("q4 g128 asym"), e.scheme());
            if (f32) {
                assertNotNull(e.f32Ms());
            } else {
                assertNull(e.f32Ms());
            }
        }
        assertEquals("64x256", r.entries().get(0).shape());
        assertEquals(256, r.entries().get(0).k());
        assertTrue(progress.size() > 4);
        assertTrue(KernelBench.table(r).size() == 4 + 4);
    }

    @Test
    void runsOnTheJavaCpuBackend() {
        try (CpuBackend b = CpuBackend.create(CpuBackend.Kind.VECTOR, 2)) {
            check(b, false);
        }
    }

    @Test
    void runsOnOpenCl() {
        assertTrue(!OpenClRuntime.discover().devices().isEmpty(), "no OpenCL device: " + OpenClRuntime.discover().whyNone());
        try (OpenClBackend b = OpenClBackend.open(0)) {
            check(b, true);
        }
    }

    @Test
    void settingsAreChecked() {
        assertEquals(new BenchSettings.Shape(4096, 11008), BenchSettings.Shape.parse("4096x11008"));
        assertThrows(IllegalArgumentException.class, () -> BenchSettings.Shape.parse("4096"));
        assertThrows(IllegalArgumentException.class, () -> BenchSettings.Shape.parse("ax5"));
        List<BenchSettings.Shape> one = List.of(new BenchSettings.Shape(8, 100));
        assertThrows(IllegalArgumentException.class, () -> new BenchSettings(one, List.of(1), 4, 128, "none", 1, 0, 4, 1 << 20, true));
        assertThrows(IllegalArgumentException.class, () -> new BenchSettings(one, List.of(0), 4, -1, "none", 1, 0, 4, 1 << 20, true));
        assertThrows(IllegalArgumentException.class, () -> new BenchSettings(one, List.of(1), 5, -1, "none", 1, 0, 4, 1 << 20, true));
        assertThrows(IllegalArgumentException.class, () -> new BenchSettings(one, List.of(1), 4, -1, "maybe", 1, 0, 4, 1 << 20, true));
        assertEquals(100, new BenchSettings(one, List.of(1), 4, -1, "float", 1, 0, 4, 1 << 20, true).scheme(100).groupSize());
        BenchSettings d = BenchSettings.defaults();
        assertEquals(6, d.shapes().size());
        assertEquals(List.of(1, 8, 64), d.batches());
    }
}
