import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./services/metrics/schema.ts",
  out: "./services/metrics/migrations",
  schemaFilter: ["metrics"],
});
