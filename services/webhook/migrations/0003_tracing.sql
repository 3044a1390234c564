ALTER TABLE "webhooks"."attempts" ADD COLUMN "trace_id" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "webhooks"."deliveries" ADD COLUMN "trace_parent" text;