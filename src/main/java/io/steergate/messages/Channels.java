package io.steergate.messages;

/** Reactive Messaging channel names; the topics behind them are configuration (application.properties). */
public final class Channels {
    public static final String REQUESTS = "requests";
    public static final String JOB_RESULTS = "job-results";
    public static final String RETRAINING = "retraining";

    private Channels() {}
}
