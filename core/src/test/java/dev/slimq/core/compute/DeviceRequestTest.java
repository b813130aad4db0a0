package dev.slimq.core.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import org.junit.jupiter.api.Test;

class DeviceRequestTest {

    @Test
    void parsesEveryForm() {
        assertEquals(DeviceRequest.AUTO, DeviceRequest.parse("auto"));
        assertEquals(DeviceRequest.CPU, DeviceRequest.parse(" CPU "));
        assertEquals(DeviceRequest.OPENCL, DeviceRequest.parse("opencl"));
        assertEquals(new DeviceRequest(DeviceRequest.Kind.OPENCL_INDEX, 3), DeviceRequest.parse("opencl:3"));
        assertEquals("opencl:3", DeviceRequest.parse("OpenCL:3").toString());
        assertTrue(DeviceRequest.parse("opencl:0").requiresOpenCl());
        assertFalse(DeviceRequest.AUTO.requiresOpenCl());
    }

    @Test
    void rejectsAnythingElseAsUsage() {
        for (String bad : new String[] {"", "gpu", "opencl:", "opencl:-1", "opencl:x", "opencl:99999999", "cuda:0"}) {
            SlimqException e = assertThrows(SlimqException.class, () -> DeviceRequest.parse(bad), bad);
            assertEquals(Failure.USAGE, e.failure());
        }
    }
}
