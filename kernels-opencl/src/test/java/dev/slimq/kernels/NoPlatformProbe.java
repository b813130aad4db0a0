package dev.slimq.kernels;

import dev.slimq.core.SlimqException;
import dev.slimq.core.compute.ComputeBackend;
import dev.slimq.core.compute.DeviceRequest;

/** Child-process half of {@link DiscoveryTest#withoutAnyPlatformOpenClRequestsFailAsDevice}: prints what each request does. */
public final class NoPlatformProbe {
    private NoPlatformProbe() {
    }

    public static void main(String[] args) {
        for (String req : new String[] {"opencl", "opencl:0", "auto"}) {
            try (ComputeBackend b = Backends.open(DeviceRequest.parse(req), 1, n -> System.out.println(n))) {
                System.out.println(req + ": " + b.name());
            } catch (SlimqException e) {
                System.out.println(req + ": " + e.failure() + ": " + e.getMessage());
            }
        }
    }
}
