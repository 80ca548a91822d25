package io.steergate.worker;

/** The worker's consumer loop, whichever steergate.worker.scheduling picks: run on its own thread. */
interface WorkerLoop extends Runnable {

    /** Its Kafka side. */
    JobTraffic traffic();

    /** Running, not waiting on a dependency, and polling. */
    default boolean healthy() {
        return traffic().healthy();
    }

    /** Ends the loop after the step in hand; a wait on a dependency ends at once. */
    default void stop() {
        traffic().stop();
    }
}
