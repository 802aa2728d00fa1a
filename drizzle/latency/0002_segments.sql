CREATE TABLE "latency"."segments" (
	"experiment_id" uuid NOT NULL,
	"idx" smallint NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"current_profile_index" integer DEFAULT 0 NOT NULL,
	"progress_ms" integer DEFAULT 0 NOT NULL,
	"summary" jsonb,
	"histogram" text,
	"raw_histogram" text,
	"seconds_recorded" integer DEFAULT 0 NOT NULL,
	"lease_owner" text,
	"lease_expires_at" timestamp (3) with time zone,
	"worker" text,
	"run_attempts" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "segments_experiment_id_idx_pk" PRIMARY KEY("experiment_id","idx"),
	CONSTRAINT "segments_state_check" CHECK ("latency"."segments"."state" in ('pending', 'done'))
);
--> statement-breakpoint
CREATE TABLE "latency"."workers" (
	"owner" text PRIMARY KEY NOT NULL,
	"seen_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "latency"."experiments" ADD COLUMN "run_start_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "latency"."series" ADD COLUMN "segment" smallint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "latency"."segments" ADD CONSTRAINT "segments_experiment_id_experiments_id_fk" FOREIGN KEY ("experiment_id") REFERENCES "latency"."experiments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "segments_pending_idx" ON "latency"."segments" USING btree ("lease_expires_at") WHERE state = 'pending';