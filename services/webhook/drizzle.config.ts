import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./services/webhook/schema.ts",
  out: "./services/webhook/migrations",
  schemaFilter: ["webhooks"],
});
