import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./services/key/schema.ts",
  out: "./services/key/migrations",
  schemaFilter: ["keys"],
});
