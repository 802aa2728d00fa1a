CREATE SCHEMA "control";
--> statement-breakpoint
CREATE TABLE "control"."decisions" (
	"decided_at" timestamp (3) with time zone PRIMARY KEY NOT NULL,
	"made_at" timestamp (3) with time zone NOT NULL,
	"prev_start" timestamp (3) with time zone NOT NULL,
	"prev_end" timestamp (3) with time zone NOT NULL,
	"prev_n" integer NOT NULL,
	"prev_mean" double precision,
	"prev_std" double precision,
	"curr_start" timestamp (3) with time zone NOT NULL,
	"curr_end" timestamp (3) with time zone NOT NULL,
	"curr_n" integer NOT NULL,
	"curr_mean" double precision,
	"curr_std" double precision,
	"t" double precision,
	"df" double precision,
	"p" double precision,
	"previous_status" text NOT NULL,
	"status" text NOT NULL,
	"changed" boolean NOT NULL,
	"reason" text NOT NULL,
	"detail" text NOT NULL,
	"since_change" integer,
	"missed" integer DEFAULT 0 NOT NULL,
	"delivered" boolean,
	"delivery_error" text,
	"leader_id" text NOT NULL,
	CONSTRAINT "decisions_status_check" CHECK ("control"."decisions"."status" IN ('up', 'down') AND "control"."decisions"."previous_status" IN ('up', 'down'))
);
--> statement-breakpoint
CREATE TABLE "control"."readings" (
	"datetime" timestamp (3) with time zone NOT NULL,
	"payload" integer NOT NULL,
	"received_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "decisions_changes_idx" ON "control"."decisions" USING btree ("decided_at") WHERE "control"."decisions"."changed";--> statement-breakpoint
CREATE INDEX "readings_datetime_idx" ON "control"."readings" USING btree ("datetime");