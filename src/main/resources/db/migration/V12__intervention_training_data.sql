-- A version's training-data provenance: the sha256 of its source and target prompts as the map's metadata records
-- them (training_data_sha256), {"source":"<hex>","target":"<hex>"}; the same hash as a stored prompt set's, so a
-- version names the prompt sets it was fitted on. Null for maps that record none (or record it in another shape).
alter table intervention_versions add column training_data_json text;
