package io.steergate.testing;

import io.quarkus.narayana.jta.QuarkusTransaction;
import jakarta.persistence.EntityManager;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Two transactions of the application racing in the one order that shows whether they take turns: the first has done
 * its work but not committed when the second starts; the first commits once the second has finished or waits on a
 * lock inside the database (a state, waited for as long as it takes: no timing bound).
 */
public final class Turns {

    /** What each returned. */
    public record Results<A, B>(A first, B second) {}

    private Turns() {
    }

    /** Runs {@code first} in a transaction of its own, then {@code second} beside it while it is uncommitted. */
    public static <A, B> Results<A, B> secondWhileFirstUncommitted(EntityManager entities, Callable<A> first, Callable<B> second)
            throws Exception {
        CountDownLatch done = new CountDownLatch(1);
        CountDownLatch commit = new CountDownLatch(1);
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            Future<A> one = threads.submit(() -> QuarkusTransaction.requiringNew().call(() -> {
                A result = first.call();
                done.countDown();
                commit.await(); // holds the transaction open, uncommitted
                return result;
            }));
            if (!done.await(60, TimeUnit.SECONDS)) {
                one.get(1, TimeUnit.SECONDS); // its failure, if it failed
                throw new AssertionError("the first transaction did not finish its work within 60 s");
            }
            Future<B> two = threads.submit(second);
            while (!two.isDone() && QuarkusTransaction.requiringNew().call(() -> ((Number) entities.createNativeQuery(
                    "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()")
                    .getSingleResult()).longValue()) == 0) {
                Thread.sleep(20);
            }
            commit.countDown();
            return new Results<>(one.get(60, TimeUnit.SECONDS), two.get(60, TimeUnit.SECONDS));
        } finally {
            commit.countDown();
            threads.shutdownNow();
        }
    }
}
