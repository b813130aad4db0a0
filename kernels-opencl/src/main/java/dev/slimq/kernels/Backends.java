package dev.slimq.kernels;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.compute.ComputeBackend;
import dev.slimq.core.compute.CpuBackend;
import dev.slimq.core.compute.DeviceRequest;
import java.util.List;
import java.util.function.Consumer;

/**
 * Turns a {@code --device} request into a backend, saying out loud what was chosen and why:
 * {@code auto} takes the first GPU, else the first OpenCL CPU device (PoCL), else the Java CPU
 * backend; {@code opencl} and {@code opencl:N} never fall back — no usable device is
 * {@link Failure#DEVICE} (exit 6); {@code cpu} is the Java CPU backend.
 */
public final class Backends {
    private Backends() {
    }

    /**
     * Opens the backend for {@code request}.
     *
     * @param threads worker threads for the Java CPU backend
     * @param notice  receives one line saying which device was chosen (and, for a fallback, why)
     */
    public static ComputeBackend open(DeviceRequest request, int threads, Consumer<String> notice) {
        return open(request, threads, false, notice);
    }

    /**
     * Opens the backend for {@code request}; with {@code poisonOutputs} an OpenCL backend fills its
     * output buffer with NaN before every product (what {@code validate} wants: an element a kernel
     * fails to write can then never pass for a plausible number).
     */
    public static ComputeBackend open(DeviceRequest request, int threads, boolean poisonOutputs, Consumer<String> notice) {
        return switch (request.kind()) {
            case CPU -> cpu(threads, notice, "");
            case OPENCL_INDEX -> announce(openCl(request.index(), poisonOutputs), notice);
            case OPENCL -> {
                OpenClRuntime.Discovery d = OpenClRuntime.requireDevices(request.toString());
                yield announce(openCl(preferred(d.devices()).index(), poisonOutputs), notice);
            }
            case AUTO -> {
                OpenClRuntime.Discovery d = OpenClRuntime.discover();
                if (d.devices().isEmpty()) {
                    yield cpu(threads, notice, " (no OpenCL device: " + d.whyNone() + ")");
                }
                DeviceInfo pick = preferred(d.devices());
                try {
                    yield announce(openCl(pick.index(), poisonOutputs), notice);
                } catch (SlimqException e) {
                    yield cpu(threads, notice, " (" + pick.id() + " failed: " + e.getMessage() + ")");
                }
            }
        };
    }

    private static OpenClBackend openCl(int index, boolean poison) {
        if (!poison) {
            return OpenClBackend.open(index);
        }
        DeviceInfo info = OpenClRuntime.requireDevices("opencl:" + index).devices().stream().filter(i -> i.index() == index).findFirst()
                .orElse(null);
        return info == null ? OpenClBackend.open(index) : OpenClBackend.open(index, new OpenClBackend.Options(LaunchPolicy.forDevice(info), true));
    }

    /** The first GPU, else the first CPU device, else the first device. */
    static DeviceInfo preferred(List<DeviceInfo> devices) {
        return devices.stream().filter(DeviceInfo::gpu).findFirst()
                .or(() -> devices.stream().filter(DeviceInfo::cpu).findFirst())
                .orElse(devices.getFirst());
    }

    private static ComputeBackend cpu(int threads, Consumer<String> notice, String why) {
        CpuBackend b = CpuBackend.create(CpuBackend.Kind.VECTOR, threads);
        notice.accept("device: cpu — " + b.description() + why);
        return b;
    }

    private static ComputeBackend announce(OpenClBackend b, Consumer<String> notice) {
        notice.accept("device: " + b.description());
        return b;
    }
}
