ALTER TABLE "webhooks"."subscriptions" RENAME TO "webhooks";--> statement-breakpoint
ALTER TABLE "webhooks"."deliveries" RENAME COLUMN "subscription_id" TO "webhook_id";--> statement-breakpoint
DROP INDEX "webhooks"."deliveries_subscription_idx";--> statement-breakpoint
DROP INDEX "webhooks"."subscriptions_owner_idx";--> statement-breakpoint
CREATE INDEX "deliveries_webhook_idx" ON "webhooks"."deliveries" USING btree ("webhook_id","created_at");--> statement-breakpoint
CREATE INDEX "webhooks_owner_idx" ON "webhooks"."webhooks" USING btree ("owner_key_id");