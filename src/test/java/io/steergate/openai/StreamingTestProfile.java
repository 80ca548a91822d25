package io.steergate.openai;

import io.steergate.testing.SteerGateTestProfile;
import java.util.Map;

/**
 * The default test application whose gateway sends its jobs to the {@link StandInWorker}'s model, so streams are
 * answered piece by piece at a known pace (the in-process worker still serves stories260K and registers it, so the
 * demo interventions and policies are in force). A boot of its own.
 */
public class StreamingTestProfile extends SteerGateTestProfile {

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("steergate.gateway.model", StandInWorker.MODEL, StandInWorker.ENABLED, "true");
    }
}
