package io.steergate.resilience;

import io.steergate.messages.SafeText;
import java.io.IOException;
import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The one rule for what is worth retrying. A failure is transient when a dependency was away or busy: the database
 * or broker unreachable, a connection lost, an I/O error other than bytes that do not parse, a serialization
 * conflict or deadlock, a timeout. Everything else is
 * permanent: the same input would fail the same way, so retrying it can only block what comes after it.
 */
public final class Failures {

    /**
     * SQLSTATE classes and codes that mean "the server, not the statement": 08 connection exceptions, 40001
     * serialization failure, 40P01 deadlock, 53 insufficient resources, 57P01-57P03 shutdown and start-up, 58 system
     * errors, 55P03 lock not available, 57014 statement cancelled by a timeout.
     */
    private static final Set<String> TRANSIENT_SQL_CLASSES = Set.of("08", "53", "58");
    private static final Set<String> TRANSIENT_SQL_STATES = Set.of("40001", "40P01", "57P01", "57P02", "57P03", "55P03", "57014");

    /** Exception types of libraries named by class, so this package needs none of them on its import list. */
    private static final Set<String> TRANSIENT_TYPES = Set.of(
            "org.hibernate.exception.JDBCConnectionException",
            "org.hibernate.exception.LockAcquisitionException",
            "org.hibernate.PessimisticLockException",
            "org.hibernate.QueryTimeoutException",
            "jakarta.persistence.LockTimeoutException",
            "jakarta.persistence.PessimisticLockException",
            "jakarta.persistence.QueryTimeoutException",
            "org.apache.kafka.common.errors.RetriableException",
            "org.apache.kafka.common.errors.TimeoutException",
            "org.apache.kafka.common.errors.DisconnectException",
            "org.apache.kafka.common.errors.InterruptException",
            "java.util.concurrent.TimeoutException");

    /**
     * I/O exceptions that say the bytes were read and are wrong: a parse or mapping error (Jackson's base type, named
     * as above) or text that is not in its charset. Reading the same bytes again fails the same way.
     */
    private static final Set<String> PERMANENT_IO_TYPES = Set.of(
            "com.fasterxml.jackson.core.JacksonException",
            "java.nio.charset.CharacterCodingException");

    private Failures() {}

    /**
     * True when some exception in the cause chain says a dependency was away, busy or slow. A chain without a database
     * error of its own is judged by its suppressed exceptions too: the transaction manager reports a commit that failed
     * as a bare RollbackException, with what went wrong (the connection lost under it) only among its suppressed
     * (LostConnectionQuarkusTest). A chain that has one is judged by it alone, so that a failed close suppressed
     * behind a refused statement never makes the statement look worth retrying.
     */
    public static boolean isTransient(Throwable failure) {
        return isTransient(failure, 0);
    }

    private static boolean isTransient(Throwable failure, int suppressedDepth) {
        List<Throwable> chain = new ArrayList<>();
        for (Throwable e = failure; e != null && chain.size() < 32 && !chain.contains(e); e = e.getCause()) {
            chain.add(e);
        }
        boolean databaseSaid = false;
        for (Throwable e : chain) {
            if (isTransientItself(e)) {
                return true;
            }
            databaseSaid |= e instanceof SQLException;
        }
        if (databaseSaid || suppressedDepth >= 2) {
            return false;
        }
        for (Throwable e : chain) {
            for (Throwable suppressed : e.getSuppressed()) {
                if (isTransient(suppressed, suppressedDepth + 1)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean isTransientItself(Throwable e) {
        if (e instanceof SQLTransientException || e instanceof SQLRecoverableException) {
            return true;
        }
        if (e instanceof IOException) {
            return !isOfType(e, PERMANENT_IO_TYPES);
        }
        if (e instanceof SQLException sql && transientState(sql.getSQLState())) {
            return true;
        }
        return isOfType(e, TRANSIENT_TYPES);
    }

    private static boolean isOfType(Throwable e, Set<String> typeNames) {
        for (Class<?> type = e.getClass(); type != null; type = type.getSuperclass()) {
            if (typeNames.contains(type.getName())) {
                return true;
            }
        }
        return false;
    }

    private static boolean transientState(String state) {
        return state != null && state.length() == 5
                && (TRANSIENT_SQL_STATES.contains(state) || TRANSIENT_SQL_CLASSES.contains(state.substring(0, 2)));
    }

    /** The innermost cause as "Type: message", escaped and cut to {@link SafeText#REASON_CHARS}: a reason to store. */
    public static String reason(Throwable failure) {
        return SafeText.of(rootMessage(failure), SafeText.REASON_CHARS);
    }

    /**
     * The innermost cause as "Type: message", for one-line logs; when the chain's exceptions suppressed another (a
     * failed commit's RollbackException does), the innermost cause of the first of those follows in parentheses.
     */
    public static String rootMessage(Throwable failure) {
        return rootMessage(failure, 0);
    }

    private static String rootMessage(Throwable failure, int suppressedDepth) {
        Throwable root = failure;
        Throwable suppressed = null;
        for (int depth = 0; depth < 32; depth++) {
            if (suppressed == null && suppressedDepth < 2 && root.getSuppressed().length > 0) {
                suppressed = root.getSuppressed()[0];
            }
            if (root.getCause() == null || root.getCause() == root) {
                break;
            }
            root = root.getCause();
        }
        String message = root.getClass().getSimpleName() + ": " + root.getMessage();
        return suppressed == null ? message : message + " (" + rootMessage(suppressed, suppressedDepth + 1) + ")";
    }
}
