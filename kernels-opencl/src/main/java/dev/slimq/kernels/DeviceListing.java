package dev.slimq.kernels;

import dev.slimq.core.compute.CpuBackend;
import dev.slimq.core.compute.DeviceRequest;
import java.util.List;

/**
 * What {@code slimq devices} reports: every OpenCL device with its properties, why there are none
 * when OpenCL is unusable, the always-present Java CPU backend, and what {@code --device auto}
 * would pick.
 *
 * @param opencl        OpenCL devices in {@code opencl:N} order
 * @param openclProblem why OpenCL cannot be used, or null
 * @param cpu           the Java CPU backend, described
 * @param auto          what {@code --device auto} picks ({@code opencl:N} or {@code cpu})
 */
public record DeviceListing(List<DeviceInfo> opencl, String openclProblem, String cpu, String auto) {

    /** Discovers devices now. Never fails: a missing OpenCL is reported, not thrown. */
    public static DeviceListing discover(int threads) {
        OpenClRuntime.Discovery d = OpenClRuntime.discover();
        String cpu;
        try (CpuBackend b = CpuBackend.create(CpuBackend.Kind.VECTOR, threads)) {
            cpu = b.description();
        }
        String auto = d.devices().isEmpty() ? DeviceRequest.CPU.toString() : Backends.preferred(d.devices()).id();
        String problem = d.devices().isEmpty() ? d.whyNone() : null;
        return new DeviceListing(d.devices(), problem, cpu, auto);
    }
}
