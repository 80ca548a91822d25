package io.steergate.bench;

import io.steergate.it.AppProcess;
import io.steergate.testing.EmbeddedKafka;
import io.steergate.testing.EmbeddedPostgresServer;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;

/**
 * What an idle application spends its CPU on, by thread: the packaged application with every role on a fresh broker
 * and PostgreSQL, left alone for {@code settle} seconds after it is ready (the JIT finishes most of its start-up
 * compilation), then each thread's CPU time (utime + stime from /proc/PID/task/TID/stat, in clock ticks of 10 ms) over
 * {@code window} seconds, summed by thread name with digits folded ("smallrye-kafka-consumer-thread-N"). Linux only.
 * Not a test: run it as BENCHMARKS.md "Session 20" says.
 *
 * <p>Arguments: {@code [settle-s=60] [window-s=20]}.
 */
public final class IdleThreadsProbe {

    private static final long MS_PER_TICK = 10;

    public static void main(String[] args) throws Exception {
        Duration settle = Duration.ofSeconds(args.length > 0 ? Long.parseLong(args[0]) : 60);
        Duration window = Duration.ofSeconds(args.length > 1 ? Long.parseLong(args[1]) : 20);
        try (EmbeddedPostgresServer postgres = new EmbeddedPostgresServer().start();
             EmbeddedKafka kafka = new EmbeddedKafka(4).start()) {
            kafka.createTopics(4, "steer.requests", "steer.results", "steer.requests.dlq", TestModel.JOBS_TOPIC,
                    "steer.jobs.dlq", "steer.job-results", "steer.job-tokens", "steer.job-cancels");
            try (AppProcess app = AppProcess.against(kafka, postgres, "idle-threads").start()) {
                Thread.sleep(settle.toMillis());
                Map<String, Long> before = ticksByThread(app.pid());
                Thread.sleep(window.toMillis());
                Map<String, Long> after = ticksByThread(app.pid());
                Map<String, Long> byName = new TreeMap<>();
                after.forEach((thread, ticks) -> byName.merge(thread.substring(0, thread.indexOf('#')),
                        ticks - before.getOrDefault(thread, 0L), Long::sum));
                long total = byName.values().stream().mapToLong(Long::longValue).sum();
                System.out.printf("# idle %d s after ready, CPU over %d s: %.1f ms/s in all; /proc/loadavg %s%n",
                        settle.toSeconds(), window.toSeconds(), total * MS_PER_TICK / (double) window.toSeconds(),
                        OverheadBench.loadAverage());
                byName.entrySet().stream().filter(e -> e.getValue() > 0)
                        .sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
                        .forEach(e -> System.out.printf("| %s | %.1f |%n", e.getKey(),
                                e.getValue() * MS_PER_TICK / (double) window.toSeconds()));
            }
        }
    }

    /** Each live thread's CPU ticks so far, keyed by "name with digits folded#tid". */
    private static Map<String, Long> ticksByThread(long pid) throws IOException {
        Map<String, Long> ticks = new TreeMap<>();
        try (DirectoryStream<Path> threads = Files.newDirectoryStream(Path.of("/proc/" + pid + "/task"))) {
            for (Path thread : threads) {
                String stat;
                try {
                    stat = Files.readString(thread.resolve("stat"));
                } catch (IOException gone) {
                    continue; // the thread ended between the listing and the read
                }
                // "tid (name) state ppid ...": the name may hold spaces and parentheses, so split after the last ')'
                String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replaceAll("[0-9]+", "N");
                String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                ticks.put(name + "#" + thread.getFileName(), Long.parseLong(fields[11]) + Long.parseLong(fields[12]));
            }
        }
        return ticks;
    }
}
