package dev.slimq.kernels;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.HashMap;
import java.util.Map;

/**
 * The OpenCL backends tests share (building kernels costs about a second per program on PoCL, so
 * each configuration is built once per test run). There is deliberately no skipping: CI installs
 * PoCL, and a machine without any OpenCL platform fails these tests with the reason.
 */
final class OpenClTestDevices {
    private OpenClTestDevices() {
    }

    private static final Map<String, OpenClBackend> BACKENDS = new HashMap<>();

    /** The device the tests run on: the first CPU device (PoCL in CI), else the first device. */
    static DeviceInfo device() {
        OpenClRuntime.Discovery d = OpenClRuntime.discover();
        if (d.devices().isEmpty()) {
            fail("no OpenCL device to test the kernels on: " + d.whyNone() + " (run scripts/install-opencl.sh)");
        }
        return d.devices().stream().filter(DeviceInfo::cpu).findFirst().orElse(d.devices().getFirst());
    }

    /** The device's own policy, outputs poisoned with NaN before every product. */
    static synchronized OpenClBackend native_() {
        return shared("native", LaunchPolicy.forDevice(device()));
    }

    /**
     * The GPU shape of the kernels on the test device: narrow vectors, up to 8 lanes per row reducing
     * through local memory, one tile per chunk, one row per work-item — so CI covers the code GPUs run.
     */
    static synchronized OpenClBackend gpuShaped() {
        LaunchPolicy p = new LaunchPolicy(4, 16, 8, 1, 1, 4, false, false, false, 2);
        return shared("gpu", p);
    }

    /** Lanes sharing rows with whole-group chunks and two rows per item: the remaining combination. */
    static synchronized OpenClBackend mixed() {
        LaunchPolicy p = new LaunchPolicy(8, 8, 2, 2, 3, 3, true, true, false, 2);
        return shared("mixed", p);
    }

    private static OpenClBackend shared(String key, LaunchPolicy p) {
        return BACKENDS.computeIfAbsent(key, k -> {
            OpenClBackend b = OpenClBackend.open(device().index(), new OpenClBackend.Options(p, true));
            Runtime.getRuntime().addShutdownHook(new Thread(b::close));
            return b;
        });
    }
}
