CREATE SCHEMA "latency";
--> statement-breakpoint
CREATE TABLE "latency"."experiments" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"settings" jsonb NOT NULL,
	"state" text DEFAULT 'created' NOT NULL,
	"current_profile_index" integer DEFAULT 0 NOT NULL,
	"progress_ms" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp (3) with time zone,
	"finished_at" timestamp (3) with time zone,
	"summary" jsonb NOT NULL,
	"histogram" text,
	"raw_histogram" text,
	"seconds_recorded" integer DEFAULT 0 NOT NULL,
	"raw_results_count" integer DEFAULT 0 NOT NULL,
	"lease_owner" text,
	"lease_expires_at" timestamp (3) with time zone,
	"run_attempts" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "experiments_state_check" CHECK ("latency"."experiments"."state" in ('created', 'running', 'paused', 'completed', 'stopped'))
);
--> statement-breakpoint
CREATE TABLE "latency"."group_members" (
	"group_id" uuid NOT NULL,
	"experiment_id" uuid NOT NULL,
	"added_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "latency"."group_members_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	CONSTRAINT "group_members_group_id_experiment_id_pk" PRIMARY KEY("group_id","experiment_id")
);
--> statement-breakpoint
CREATE TABLE "latency"."groups" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"state" text DEFAULT 'created' NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "groups_state_check" CHECK ("latency"."groups"."state" in ('created', 'running', 'paused', 'completed', 'stopped'))
);
--> statement-breakpoint
CREATE TABLE "latency"."results" (
	"experiment_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"status_code" smallint NOT NULL,
	"latency_ms" double precision,
	"ts" timestamp (3) with time zone NOT NULL,
	"error" text,
	CONSTRAINT "results_experiment_id_seq_pk" PRIMARY KEY("experiment_id","seq")
);
--> statement-breakpoint
CREATE TABLE "latency"."series" (
	"experiment_id" uuid NOT NULL,
	"second" integer NOT NULL,
	"ts" timestamp (3) with time zone NOT NULL,
	"duration_ms" integer NOT NULL,
	"profile_index" integer NOT NULL,
	"elapsed_in_profile_ms" integer NOT NULL,
	"requests" integer NOT NULL,
	"successes" integer NOT NULL,
	"failures" integer NOT NULL,
	"late" integer NOT NULL,
	"dropped" integer NOT NULL,
	"status_codes" jsonb NOT NULL,
	"failures_by_kind" jsonb NOT NULL,
	"latency" jsonb NOT NULL,
	"raw_latency" jsonb,
	"histogram" text NOT NULL,
	"raw_histogram" text,
	CONSTRAINT "series_experiment_id_second_pk" PRIMARY KEY("experiment_id","second")
);
--> statement-breakpoint
ALTER TABLE "latency"."group_members" ADD CONSTRAINT "group_members_group_id_groups_id_fk" FOREIGN KEY ("group_id") REFERENCES "latency"."groups"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "latency"."group_members" ADD CONSTRAINT "group_members_experiment_id_experiments_id_fk" FOREIGN KEY ("experiment_id") REFERENCES "latency"."experiments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "latency"."results" ADD CONSTRAINT "results_experiment_id_experiments_id_fk" FOREIGN KEY ("experiment_id") REFERENCES "latency"."experiments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "latency"."series" ADD CONSTRAINT "series_experiment_id_experiments_id_fk" FOREIGN KEY ("experiment_id") REFERENCES "latency"."experiments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "experiments_created_idx" ON "latency"."experiments" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "experiments_running_idx" ON "latency"."experiments" USING btree ("lease_expires_at") WHERE state = 'running';--> statement-breakpoint
CREATE INDEX "group_members_experiment_idx" ON "latency"."group_members" USING btree ("experiment_id");--> statement-breakpoint
CREATE INDEX "groups_created_idx" ON "latency"."groups" USING btree ("created_at","id");