package io.steergate.retraining;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.engine.eval.PromptSet;
import io.steergate.intervention.InterventionRegistry;
import io.steergate.messages.ApiError;
import io.steergate.messages.ErrorCode;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.transaction.Transactional;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * The prompt sets retraining jobs train on, in PostgreSQL. A name is immutable once stored: importing the same texts
 * again is a no-op, other texts under a taken name are a conflict, so a job's data stays what it was when it ran.
 */
@ApplicationScoped
public class PromptSetStore {

    private static final Logger LOG = Logger.getLogger(PromptSetStore.class);
    /** Most prompts in one set: the papers train on 32-1,000; this leaves room and bounds a training's memory. */
    static final int MAX_PROMPTS = 10_000;
    /** Longest prompt: the model's context is 512 tokens, and training uses the first tokens of each prompt only. */
    static final int MAX_PROMPT_CHARS = 4_000;

    @Inject
    ObjectMapper json;

    /** What a listing shows of a set: everything but its texts. */
    public record PromptSetSummary(String name, int size, String sha256, Instant createdAt) {}

    /** A set with its texts. */
    public record PromptSetContent(String name, int size, String sha256, Instant createdAt, List<String> texts) {}

    /** The outcome of an import: the stored set, and whether this call stored it. */
    public record Imported(PromptSetSummary set, boolean created) {}

    /**
     * Stores a JSONL prompt set ({"text": "..."} a line, the rules of PromptSet.read) under {@code name}.
     *
     * @throws ApiError 400 for a bad name or JSONL (the message names the line), 409 when the name holds
     *     other texts
     */
    @Transactional
    public Imported importSet(String name, String jsonl) {
        InterventionRegistry.checkName(name);
        PromptSet set;
        try {
            set = PromptSet.parse(name, "body", jsonl == null ? "" : jsonl);
        } catch (IllegalArgumentException e) {
            throw new ApiError(400, ErrorCode.INVALID_REQUEST, e.getMessage());
        }
        checkCaps(set);
        StoredPromptSet stored = StoredPromptSet.findById(name);
        if (stored != null) {
            if (!stored.sha256.equals(set.sha256())) {
                throw new ApiError(409, ErrorCode.CONFLICT, "prompt set '" + name + "' already holds other texts (sha256 "
                        + stored.sha256 + ", " + stored.size + " prompts); a name is immutable, import under a new name");
            }
            return new Imported(summary(stored), false);
        }
        stored = new StoredPromptSet();
        stored.name = name;
        stored.textsJson = write(set.texts());
        stored.sha256 = set.sha256();
        stored.size = set.size();
        stored.createdAt = Instant.now();
        stored.persist();
        LOG.infof("prompt set %s stored (%d prompts, sha256 %s)", name, set.size(), set.sha256());
        return new Imported(summary(stored), true);
    }

    /**
     * A stored set is read whole by every training that names it and each text is tokenized there: both are capped,
     * so one import cannot make every later training slow or large.
     */
    private static void checkCaps(PromptSet set) {
        if (set.size() > MAX_PROMPTS) {
            throw new ApiError(400, ErrorCode.INVALID_REQUEST, "body: at most " + MAX_PROMPTS + " prompts, got " + set.size());
        }
        for (int i = 0; i < set.size(); i++) {
            int chars = set.texts().get(i).length();
            if (chars > MAX_PROMPT_CHARS) {
                throw new ApiError(400, ErrorCode.INVALID_REQUEST,
                        "body: prompt " + (i + 1) + " is " + chars + " characters; at most " + MAX_PROMPT_CHARS);
            }
        }
    }

    @Transactional
    public List<PromptSetSummary> list() {
        return StoredPromptSet.<StoredPromptSet>list("order by name").stream().map(PromptSetStore::summary).toList();
    }

    @Transactional
    public Optional<PromptSetContent> get(String name) {
        return StoredPromptSet.<StoredPromptSet>findByIdOptional(name)
                .map(s -> new PromptSetContent(s.name, s.size, s.sha256, s.createdAt, read(s.textsJson)));
    }

    /** Whether a set of this name is stored. */
    @Transactional
    public boolean exists(String name) {
        return StoredPromptSet.count("name", name) > 0;
    }

    /** The name of the oldest stored set holding exactly the texts of this sha256, if one does. */
    @Transactional
    public Optional<String> nameOf(String sha256) {
        return StoredPromptSet.<StoredPromptSet>find("sha256 = ?1 order by createdAt, name", sha256).firstResultOptional()
                .map(s -> s.name);
    }

    /** The texts of a stored set, in order. */
    @Transactional
    public List<String> texts(String name) {
        StoredPromptSet stored = StoredPromptSet.findById(name);
        if (stored == null) {
            throw new ApiError(404, ErrorCode.NOT_FOUND, "prompt set '" + name + "': not found");
        }
        return read(stored.textsJson);
    }

    private static PromptSetSummary summary(StoredPromptSet s) {
        return new PromptSetSummary(s.name, s.size, s.sha256, s.createdAt);
    }

    private String write(List<String> texts) {
        try {
            return json.writeValueAsString(texts);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a list of strings always serialises as JSON", e);
        }
    }

    private List<String> read(String textsJson) {
        try {
            return json.readValue(textsJson, new TypeReference<List<String>>() {});
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("prompt_sets.texts_json is not a JSON array of strings", e);
        }
    }
}
