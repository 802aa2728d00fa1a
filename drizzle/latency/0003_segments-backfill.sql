-- Every experiment created before segments existed becomes one segment: its run lease, position and
-- numbers move to segment 0, so a run in progress continues from where it was.
INSERT INTO "latency"."segments" ("experiment_id", "idx", "state", "current_profile_index", "progress_ms", "summary",
  "histogram", "raw_histogram", "seconds_recorded", "lease_owner", "lease_expires_at", "worker", "run_attempts")
SELECT "id", 0, CASE WHEN "state" = 'completed' THEN 'done' ELSE 'pending' END, "current_profile_index", "progress_ms",
       "summary", "histogram", "raw_histogram", "seconds_recorded", "lease_owner", "lease_expires_at", "lease_owner",
       "run_attempts"
  FROM "latency"."experiments"
ON CONFLICT DO NOTHING;
