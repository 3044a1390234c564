CREATE SCHEMA "metrics";
--> statement-breakpoint
CREATE TABLE "metrics"."consumer_offsets" (
	"consumer" text PRIMARY KEY NOT NULL,
	"last_sequence" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "metrics"."latency_rollups" (
	"minute" timestamp with time zone NOT NULL,
	"bucket" integer NOT NULL,
	"count" bigint NOT NULL,
	CONSTRAINT "latency_rollups_minute_bucket_pk" PRIMARY KEY("minute","bucket")
);
--> statement-breakpoint
CREATE TABLE "metrics"."request_rollups" (
	"minute" timestamp with time zone NOT NULL,
	"key_id" text NOT NULL,
	"tier" text NOT NULL,
	"outcome" text NOT NULL,
	"count" bigint NOT NULL,
	CONSTRAINT "request_rollups_minute_key_id_tier_outcome_pk" PRIMARY KEY("minute","key_id","tier","outcome")
);
--> statement-breakpoint
CREATE TABLE "metrics"."webhook_rollups" (
	"minute" timestamp with time zone NOT NULL,
	"outcome" text NOT NULL,
	"count" bigint NOT NULL,
	"attempts" bigint NOT NULL,
	CONSTRAINT "webhook_rollups_minute_outcome_pk" PRIMARY KEY("minute","outcome")
);
