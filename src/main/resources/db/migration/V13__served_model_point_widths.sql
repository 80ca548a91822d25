-- Each hook point's width in a served model, {"attn_norm":64,...,"resid":64}, as the worker computes it
-- (engine.model.HookPoint.width): what an uploaded map's sites are checked against, so a point whose width is not the
-- model's dim can exist. Null for rows registered before this column: every point is dim wide there.
alter table served_models add column point_widths_json text;
