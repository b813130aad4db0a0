package dev.slimq.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.compute.ComputeBackend;
import dev.slimq.core.compute.CpuBackend;
import dev.slimq.core.compute.DeviceRequest;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Device discovery, {@code --device} selection, error names, and OpenCL being absent. */
class DiscoveryTest {

    @Test
    void discoveryFindsTheTestDeviceWithItsProperties() {
        OpenClRuntime.Discovery d = OpenClRuntime.discover();
        assertNull(d.problem(), "OpenCL must be usable here (CI installs PoCL): " + d.problem());
        assertFalse(d.devices().isEmpty());
        for (int i = 0; i < d.devices().size(); i++) {
            DeviceInfo info = d.devices().get(i);
            assertEquals(i, info.index());
            assertEquals("opencl:" + i, info.id());
            assertTrue(info.globalMemoryBytes() > 0 && info.computeUnits() > 0 && info.maxWorkGroupSize() > 0, info.toString());
            assertFalse(info.name().isBlank());
            assertTrue(List.of("GPU", "CPU", "ACCELERATOR", "OTHER").contains(info.type()));
        }
        DeviceListing listing = DeviceListing.discover(1);
        assertEquals(d.devices().size(), listing.opencl().size());
        assertNull(listing.openclProblem());
        assertTrue(listing.auto().startsWith("opencl:"));
    }

    @Test
    void selectionHonoursTheRequestAndSaysWhatItChose() {
        List<String> notices = new ArrayList<>();
        try (ComputeBackend cpu = Backends.open(DeviceRequest.CPU, 1, notices::add)) {
            assertTrue(cpu instanceof CpuBackend);
        }
        try (ComputeBackend auto = Backends.open(DeviceRequest.AUTO, 1, notices::add)) {
            assertTrue(auto instanceof OpenClBackend, "auto picks an OpenCL device when there is one");
        }
        try (ComputeBackend any = Backends.open(DeviceRequest.OPENCL, 1, notices::add)) {
            assertTrue(any.name().startsWith("opencl:"));
        }
        try (ComputeBackend zero = Backends.open(DeviceRequest.parse("opencl:0"), 1, notices::add)) {
            assertEquals("opencl:0", zero.name());
        }
        assertEquals(4, notices.size());
        assertTrue(notices.stream().allMatch(n -> n.startsWith("device: ")), notices.toString());
        SlimqException e = assertThrows(SlimqException.class, () -> Backends.open(DeviceRequest.parse("opencl:99"), 1, notices::add));
        assertEquals(Failure.DEVICE, e.failure());
        assertTrue(e.getMessage().contains("opencl:99") && e.getMessage().contains("opencl:0"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void preferenceIsGpuThenCpuThenAnything() {
        DeviceInfo cpu = fake(0, "CPU");
        DeviceInfo gpu = fake(1, "GPU");
        DeviceInfo acc = fake(2, "ACCELERATOR");
        assertEquals(1, Backends.preferred(List.of(cpu, gpu, acc)).index());
        assertEquals(0, Backends.preferred(List.of(cpu, acc)).index());
        assertEquals(2, Backends.preferred(List.of(acc)).index());
    }

    static DeviceInfo fake(int index, String type) {
        return new DeviceInfo(index, "p", "OpenCL 3.0", "d" + index, "v", type, "OpenCL 3.0", "1", "OpenCL C 1.2", 1L << 30, 1L << 28, 0, 65536, 4,
                256, type.equals("CPU") ? 16 : 1, 1, false, false, false, List.of());
    }

    @Test
    void policiesFollowWhatTheDeviceReports() {
        LaunchPolicy cpu = LaunchPolicy.forDevice(fake(0, "CPU"));
        assertEquals(16, cpu.width());
        assertEquals(1, cpu.maxTeam());
        assertTrue(cpu.wholeGroupChunks());
        LaunchPolicy gpu = LaunchPolicy.forDevice(fake(1, "GPU"));
        assertEquals(4, gpu.width());
        assertEquals(256, gpu.localSize());
        assertEquals(32, gpu.maxTeam());
        assertEquals(32, gpu.teamFor(128));
        assertEquals(2, gpu.teamFor(12));
        assertEquals(1, gpu.teamFor(3));
        assertEquals(32, gpu.localFor(8, 1, 32), "a tiny matrix gets small groups");
        assertEquals(256, gpu.localFor(100_000, 1, 32));
        assertThrows(IllegalArgumentException.class, () -> new LaunchPolicy(4, 16, 3, 1, 1, 1, false, false, false, 1));
    }

    @Test
    void errorCodesHaveNames() {
        assertEquals("CL_OUT_OF_RESOURCES (-5)", ClErrors.name(-5));
        assertTrue(ClErrors.describe(-5).contains("ran out of resources"));
        assertEquals("CL_INVALID_WORK_GROUP_SIZE (-54)", ClErrors.name(-54));
        assertEquals("OpenCL error -9999", ClErrors.name(-9999));
        assertTrue(ClErrors.describe(-1001).contains("no OpenCL platform"));
    }

    /**
     * With no ICD installed (simulated: the ICD loader pointed at an empty vendor directory), an
     * explicit OpenCL request fails with DEVICE in one line, and auto falls back to the CPU saying
     * why. Runs in a child JVM: a JVM loads the OpenCL library once.
     */
    @Test
    void withoutAnyPlatformOpenClRequestsFailAsDevice() throws Exception {
        Path empty = Files.createTempDirectory("no-icd");
        try {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                    "-cp", System.getProperty("java.class.path"), NoPlatformProbe.class.getName());
            pb.environment().put("OCL_ICD_VENDORS", empty.toString() + File.separator);
            pb.environment().put("OCL_ICD_FILENAMES", "");
            pb.redirectErrorStream(true);
            Process p = pb.start();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            String out = new String(p.getInputStream().readAllBytes());
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains("opencl: DEVICE: --device opencl: no usable OpenCL device"), out);
            assertTrue(out.contains("opencl:0: DEVICE:"), out);
            assertTrue(out.contains("auto: cpu"), out);
            assertTrue(out.contains("device: cpu"), out);
        } finally {
            Files.deleteIfExists(empty);
        }
    }
}
