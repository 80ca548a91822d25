package io.steergate.worker;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import jakarta.persistence.Query;
import jakarta.transaction.Transactional;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The attempt counts of jobs (table job_attempts), one transaction per call. A row is written before its job is
 * generated and deleted once the job's result is acknowledged, so a row that is still there when the job is delivered
 * again means its earlier attempt ended without a result: the batch failed or the worker stopped while generating it.
 */
@ApplicationScoped
public class JobAttempts implements JobLoop.Attempts {

    @Inject
    EntityManager entities;

    @Override
    @Transactional
    public Set<String> startFirst(Collection<String> requestIds) {
        if (requestIds.isEmpty()) {
            return Set.of();
        }
        // sorted, so that two workers inserting the same ids (a rebalance) lock them in the same order
        List<String> ids = List.copyOf(new TreeSet<>(requestIds));
        StringBuilder sql = new StringBuilder("insert into job_attempts (request_id, attempts, updated_at) values ");
        for (int i = 0; i < ids.size(); i++) {
            sql.append(i == 0 ? "" : ", ").append("(:id").append(i).append(", 1, now())");
        }
        sql.append(" on conflict (request_id) do nothing returning request_id");
        Query insert = entities.createNativeQuery(sql.toString(), String.class);
        for (int i = 0; i < ids.size(); i++) {
            insert.setParameter("id" + i, ids.get(i));
        }
        @SuppressWarnings("unchecked")
        List<String> inserted = insert.getResultList();
        return Set.copyOf(inserted);
    }

    @Override
    @Transactional
    public JobLoop.Attempt startAlone(String requestId) {
        Object[] row = (Object[]) entities.createNativeQuery("""
                insert into job_attempts (request_id, attempts, updated_at) values (:id, 1, now())
                on conflict (request_id) do update set attempts = job_attempts.attempts + 1, updated_at = now()
                returning attempts, last_error""")
                .setParameter("id", requestId)
                .getSingleResult();
        return new JobLoop.Attempt(((Number) row[0]).intValue(), (String) row[1]);
    }

    @Override
    @Transactional
    public void notStarted(Collection<String> requestIds) {
        if (!requestIds.isEmpty()) {
            entities.createNativeQuery("update job_attempts set attempts = attempts - 1, updated_at = now()"
                            + " where request_id in (:ids) and attempts > 1")
                    .setParameter("ids", requestIds)
                    .executeUpdate();
        }
    }

    @Override
    @Transactional
    public void recordError(Collection<String> requestIds, String error) {
        if (!requestIds.isEmpty()) {
            entities.createNativeQuery("update job_attempts set last_error = :error, updated_at = now() where request_id in (:ids)")
                    .setParameter("error", error)
                    .setParameter("ids", requestIds)
                    .executeUpdate();
        }
    }

    @Override
    @Transactional
    public void finished(Collection<String> requestIds) {
        if (!requestIds.isEmpty()) {
            entities.createNativeQuery("delete from job_attempts where request_id in (:ids)")
                    .setParameter("ids", requestIds)
                    .executeUpdate();
        }
    }
}
