package io.steergate.worker;

/** The worker's consumer loop, whichever steergate.worker.scheduling picks: run on its own thread. */
interface WorkerLoop extends Runnable {

    /** Running, not waiting on a dependency, and polling. */
    boolean healthy();

    /** Ends the loop after the step in hand; a wait on a dependency ends at once. */
    void stop();
}
