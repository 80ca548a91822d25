package io.steergate.worker;

import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.intervention.InterventionRegistry;
import io.steergate.messages.ApiError;
import io.steergate.messages.AppliedIntervention;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Turns a job's plan into a folded {@link SteeringPlan}. Versions never change once stored, so each (name, version)
 * is read from the registry and checked against the served model once, then kept: a promotion needs no restart,
 * because new plans name the new version and old plans keep naming theirs.
 */
@ApplicationScoped
public class PlanMaps {

    private static final Logger LOG = Logger.getLogger(PlanMaps.class);

    /** A plan that cannot be met: the job is answered REJECTED with this error. */
    static final class Unavailable extends Exception {
        final ErrorInfo error;

        Unavailable(ErrorInfo error) {
            super(error.message(), null, false, false);
            this.error = error;
        }
    }

    @Inject
    InterventionRegistry registry;

    @Inject
    ModelRuntime runtime;

    private final Map<String, Intervention> cache = new ConcurrentHashMap<>();

    SteeringPlan resolve(List<AppliedIntervention> plan) throws Unavailable {
        if (plan == null || plan.isEmpty()) {
            return SteeringPlan.NONE;
        }
        List<SteeringPlan.Step> steps = new ArrayList<>(plan.size());
        for (AppliedIntervention entry : plan) {
            steps.add(new SteeringPlan.Step(map(entry.intervention(), entry.version()), entry.strength()));
        }
        return SteeringPlan.compose(steps);
    }

    private Intervention map(String name, int version) throws Unavailable {
        String key = name + "@" + version;
        Intervention cached = cache.get(key);
        if (cached != null) {
            return cached;
        }
        Intervention loaded;
        try {
            loaded = InterventionFile.read(registry.mapFile(name, version), runtime.config(), runtime.ref().fingerprint());
        } catch (ApiError e) {
            throw new Unavailable(e.error());
        } catch (IllegalArgumentException e) {
            throw new Unavailable(ErrorInfo.of(ErrorCode.MAP_REFUSED, e.getMessage()));
        }
        cache.put(key, loaded);
        LOG.infof("loaded intervention %s version %d (%d sites)", name, version, loaded.maps().size());
        return loaded;
    }
}
