CREATE SCHEMA "devices";
--> statement-breakpoint
CREATE TABLE "devices"."aggregates" (
	"device_id" text PRIMARY KEY NOT NULL,
	"count" bigint NOT NULL,
	"value_min" double precision NOT NULL,
	"value_max" double precision NOT NULL,
	"value_sum" double precision NOT NULL,
	"value_median" double precision NOT NULL,
	"x_min" double precision NOT NULL,
	"x_max" double precision NOT NULL,
	"x_sum" double precision NOT NULL,
	"x_median" double precision NOT NULL,
	"y_min" double precision NOT NULL,
	"y_max" double precision NOT NULL,
	"y_sum" double precision NOT NULL,
	"y_median" double precision NOT NULL,
	"z_min" double precision NOT NULL,
	"z_max" double precision NOT NULL,
	"z_sum" double precision NOT NULL,
	"z_median" double precision NOT NULL,
	"first_ts" timestamp (3) with time zone NOT NULL,
	"last_ts" timestamp (3) with time zone NOT NULL,
	"computed_at" timestamp (3) with time zone NOT NULL,
	"task_id" uuid NOT NULL
);
--> statement-breakpoint
CREATE TABLE "devices"."devices" (
	"id" text PRIMARY KEY NOT NULL,
	"owner_id" bigint,
	"registered_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "devices"."readings" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "devices"."readings_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"device_id" text NOT NULL,
	"ts" timestamp (3) with time zone NOT NULL,
	"x" double precision NOT NULL,
	"y" double precision NOT NULL,
	"z" double precision NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "devices"."tasks" (
	"id" uuid PRIMARY KEY NOT NULL,
	"trigger" text NOT NULL,
	"total" integer DEFAULT 0 NOT NULL,
	"done" integer DEFAULT 0 NOT NULL,
	"requested_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp (3) with time zone,
	"finished_at" timestamp (3) with time zone,
	"status" text DEFAULT 'queued' NOT NULL,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "devices"."users" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "devices"."users_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "devices"."devices" ADD CONSTRAINT "devices_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "devices"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "devices_owner_idx" ON "devices"."devices" USING btree ("owner_id");