CREATE SCHEMA "logs";
--> statement-breakpoint
CREATE TABLE "logs"."entries" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"id" uuid NOT NULL,
	"txid" bigint DEFAULT (pg_current_xact_id()::text)::bigint NOT NULL,
	"created" timestamp (6) with time zone DEFAULT now() NOT NULL,
	"ip" text NOT NULL,
	"method" text NOT NULL,
	"uri" text NOT NULL,
	"status_code" smallint NOT NULL,
	CONSTRAINT "entries_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE TABLE "logs"."syncers" (
	"name" text PRIMARY KEY NOT NULL,
	"target_file" text NOT NULL,
	"last_id" uuid,
	"records_written" integer DEFAULT 0 NOT NULL,
	"reported_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "entries_cursor_idx" ON "logs"."entries" USING btree ("txid","seq");