CREATE SCHEMA "webhooks";
--> statement-breakpoint
CREATE TABLE "webhooks"."attempts" (
	"delivery_id" text NOT NULL,
	"number" integer NOT NULL,
	"status_code" integer DEFAULT 0 NOT NULL,
	"error" text DEFAULT '' NOT NULL,
	"response_body" text DEFAULT '' NOT NULL,
	"duration_ms" bigint NOT NULL,
	"attempted_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhooks"."deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"event_id" text NOT NULL,
	"subscription_id" text NOT NULL,
	"status" text NOT NULL,
	"attempt_count" integer DEFAULT 0 NOT NULL,
	"attempt_base" integer DEFAULT 0 NOT NULL,
	"generation" integer DEFAULT 0 NOT NULL,
	"leased_until" timestamp with time zone,
	"next_attempt_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone,
	"dead_lettered_at" timestamp with time zone,
	"enqueued_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "webhooks"."events" (
	"id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"data" jsonb NOT NULL,
	"idempotency_key" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhooks"."replay_rejections" (
	"event_id" text NOT NULL,
	"rejected_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhooks"."subscriptions" (
	"id" text PRIMARY KEY NOT NULL,
	"owner_key_id" text NOT NULL,
	"url" text NOT NULL,
	"event_types" jsonb NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"paused" boolean DEFAULT false NOT NULL,
	"disabled_reason" text DEFAULT '' NOT NULL,
	"secret" text NOT NULL,
	"previous_secret" text,
	"previous_secret_expires_at" timestamp with time zone,
	"failing_since" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "attempts_delivery_idx" ON "webhooks"."attempts" USING btree ("delivery_id","number");--> statement-breakpoint
CREATE INDEX "deliveries_subscription_idx" ON "webhooks"."deliveries" USING btree ("subscription_id","created_at");--> statement-breakpoint
CREATE INDEX "deliveries_status_idx" ON "webhooks"."deliveries" USING btree ("status","next_attempt_at");--> statement-breakpoint
CREATE INDEX "deliveries_outbox_idx" ON "webhooks"."deliveries" USING btree ("created_at") WHERE "webhooks"."deliveries"."enqueued_at" is null;--> statement-breakpoint
CREATE INDEX "deliveries_dead_letter_idx" ON "webhooks"."deliveries" USING btree ("dead_lettered_at");--> statement-breakpoint
CREATE INDEX "events_idempotency_idx" ON "webhooks"."events" USING btree ("idempotency_key","created_at");--> statement-breakpoint
CREATE INDEX "replay_rejections_time_idx" ON "webhooks"."replay_rejections" USING btree ("rejected_at");--> statement-breakpoint
CREATE INDEX "subscriptions_owner_idx" ON "webhooks"."subscriptions" USING btree ("owner_key_id");