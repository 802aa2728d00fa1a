CREATE SCHEMA "ab";
--> statement-breakpoint
CREATE TABLE "ab"."answers_epoch" (
	"one" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"epoch" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "answers_epoch_one_row" CHECK ("ab"."answers_epoch"."one")
);
--> statement-breakpoint
CREATE TABLE "ab"."assignments" (
	"device_id" bigint NOT NULL,
	"experiment_id" integer NOT NULL,
	"version" integer NOT NULL,
	"k" bigint NOT NULL,
	"option" smallint NOT NULL,
	CONSTRAINT "assignments_device_id_experiment_id_pk" PRIMARY KEY("device_id","experiment_id")
);
--> statement-breakpoint
CREATE TABLE "ab"."decks" (
	"experiment_id" integer NOT NULL,
	"version" integer NOT NULL,
	"weights" integer[] NOT NULL,
	"deck" smallint[] NOT NULL,
	"next_k" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "decks_experiment_id_version_pk" PRIMARY KEY("experiment_id","version")
);
--> statement-breakpoint
CREATE TABLE "ab"."devices" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "ab"."devices_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"token" text NOT NULL,
	"first_seen_at" timestamp with time zone NOT NULL,
	CONSTRAINT "devices_token_unique" UNIQUE("token")
);
--> statement-breakpoint
CREATE TABLE "ab"."experiments" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "ab"."experiments_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"option_values" jsonb NOT NULL,
	"seed" integer NOT NULL,
	"current_version" integer DEFAULT 1 NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"stopped_at" timestamp with time zone,
	CONSTRAINT "experiments_name_unique" UNIQUE("name")
);
--> statement-breakpoint
ALTER TABLE "ab"."assignments" ADD CONSTRAINT "assignments_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "ab"."devices"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ab"."assignments" ADD CONSTRAINT "assignments_deck_fk" FOREIGN KEY ("experiment_id","version") REFERENCES "ab"."decks"("experiment_id","version") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ab"."decks" ADD CONSTRAINT "decks_experiment_id_experiments_id_fk" FOREIGN KEY ("experiment_id") REFERENCES "ab"."experiments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "assignments_stats_idx" ON "ab"."assignments" USING btree ("experiment_id","version","option");