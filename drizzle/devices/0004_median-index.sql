CREATE TABLE "devices"."median_checkpoints" (
	"device_id" text NOT NULL,
	"at" timestamp (3) with time zone NOT NULL,
	"value_counts" bigint[] NOT NULL,
	"x_counts" bigint[] NOT NULL,
	"y_counts" bigint[] NOT NULL,
	"z_counts" bigint[] NOT NULL,
	CONSTRAINT "median_checkpoints_pkey" PRIMARY KEY("device_id","at")
);
--> statement-breakpoint
CREATE TABLE "devices"."median_hours" (
	"device_id" text NOT NULL,
	"bucket" timestamp (3) with time zone NOT NULL,
	"count" bigint NOT NULL,
	"max_id" bigint NOT NULL,
	CONSTRAINT "median_hours_pkey" PRIMARY KEY("device_id","bucket")
);
--> statement-breakpoint
CREATE TABLE "devices"."median_layouts" (
	"device_id" text PRIMARY KEY NOT NULL,
	"version" integer NOT NULL,
	"value_thresholds" double precision[] NOT NULL,
	"x_thresholds" double precision[] NOT NULL,
	"y_thresholds" double precision[] NOT NULL,
	"z_thresholds" double precision[] NOT NULL,
	"value_totals" bigint[] NOT NULL,
	"x_totals" bigint[] NOT NULL,
	"y_totals" bigint[] NOT NULL,
	"z_totals" bigint[] NOT NULL,
	"built_count" bigint NOT NULL,
	"indexed_count" bigint NOT NULL,
	"built_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "devices"."median_leaves" (
	"device_id" text NOT NULL,
	"quantity" smallint NOT NULL,
	"bucket" integer NOT NULL,
	"seq" integer NOT NULL,
	"vals" double precision[] NOT NULL,
	"times" timestamp (3) with time zone[] NOT NULL,
	CONSTRAINT "median_leaves_pkey" PRIMARY KEY("device_id","quantity","bucket","seq")
);
