// The generated OpenAPI 3.1 document is valid (checked by a real OpenAPI
// validator) and describes exactly the routes the transcoder serves.
import { Validator } from "@seriousme/openapi-schema-validator";
import type { DescService } from "@bufbuild/protobuf";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { GatewayService } from "../../gen/onering/v1/gateway_pb.js";
import { gatewayOpenApiInfo } from "../../services/gateway/openapiInfo.js";
import { createLogger } from "../../services/shared/logger.js";
import { createTranscoder } from "../../services/shared/transcoding/transcoder.js";
import { probeFile } from "./probeService.js";

type Doc = { info: Record<string, any>; servers: unknown; paths: Record<string, Record<string, any>>; components: Record<string, any> };

/** Serves a transcoder on a bare node:http server and fetches its document. */
async function documentOf(service: DescService): Promise<{ doc: Doc; routes: number }> {
  const rest = createTranscoder({ services: [{ service, impl: {} }], maxBodyBytes: 1024, logger: createLogger("openapi-test", "silent"), openapi: { ...gatewayOpenApiInfo, path: "/openapi.json" } });
  const server = http.createServer((req, res) => rest.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    return { doc: (await res.json()) as Doc, routes: rest.routes.routes.length };
  } finally {
    server.close();
  }
}

async function expectValid(doc: Doc) {
  const validator = new Validator();
  const result = await validator.validate(structuredClone(doc) as never);
  expect(result.errors ?? []).toEqual([]);
  expect(result.valid).toBe(true);
  expect(validator.version).toBe("3.1");
}

const operations = (doc: Doc) => Object.values(doc.paths).flatMap((ops) => Object.values(ops));

describe("the gateway's OpenAPI document", () => {
  it("is valid OpenAPI 3.1 with one operation per route", async () => {
    const { doc, routes } = await documentOf(GatewayService);
    await expectValid(doc);
    expect(operations(doc)).toHaveLength(routes);
    expect(routes).toBe(GatewayService.methods.length);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/v1/external/me", "/v1/external/webhooks/{id}:rotate-secret", "/v1/admin/webhooks/dead-letters:replay", "/v1/external/webhooks/{webhook_id}/deliveries"]),
    );
  });

  it("binds parameters and bodies as the transcoder does", async () => {
    const { doc } = await documentOf(GatewayService);
    const listKeys = doc.paths["/v1/admin/external/keys"].get;
    expect(listKeys.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual(["query:page_size", "query:page_token", "query:tier", "query:canary", "query:include_revoked"]);
    const deadLetters = doc.paths["/v1/admin/webhooks/dead-letters"].get;
    expect(deadLetters.parameters.find((p: { name: string }) => p.name === "since").schema).toEqual({ type: "string", format: "date-time" });
    const update = doc.paths["/v1/external/webhooks/{id}"].patch;
    expect(update.parameters).toEqual([{ name: "id", in: "path", required: true, schema: { type: "string" } }]);
    expect(Object.keys(update.requestBody.content["application/json"].schema.properties)).toEqual(["url", "event_types", "description", "enabled", "paused"]);
    const publish = doc.components.schemas["onering.v1.PublishEventRequest"];
    expect(publish.properties.data).toEqual({ type: "object", additionalProperties: true });
    // int64 is read in either form but always written as a string.
    expect(doc.components.schemas["onering.v1.ApiKey"].properties.usage_count).toEqual({ type: "string", format: "int64", pattern: "^-?[0-9]+$" });
    expect(doc.paths["/v1/admin/external/keys/{id}:rotate"].post.requestBody.content["application/json"].schema.properties.grace_period_seconds).toEqual({ type: ["string", "integer"], format: "int64", minimum: 0, maximum: 2592000 });
  });

  it("states the buf.validate rules: required fields, lengths, patterns, allowed values, counts", async () => {
    const { doc } = await documentOf(GatewayService);
    const schemas = doc.components.schemas;
    const create = schemas["onering.v1.CreateKeyRequest"];
    expect(create.required).toEqual(["name"]);
    expect(create.properties.name).toEqual({ type: "string", minLength: 1, maxLength: 128 });
    expect(create.properties.tier.enum).toEqual(["free", "pro", "enterprise"]);
    expect(create.properties.metadata).toMatchObject({ maxProperties: 16, additionalProperties: { type: "string", maxLength: 256 }, propertyNames: { minLength: 1, maxLength: 64 } });
    const subscribe = schemas["onering.v1.CreateWebhookRequest"];
    expect(subscribe.required).toEqual(["url", "event_types"]);
    expect(subscribe.properties.event_types).toMatchObject({ minItems: 1, maxItems: 50, items: { type: "string", maxLength: 128, pattern: expect.any(String) } });
    expect(schemas["onering.v1.PublishEventRequest"].required).toEqual(["type", "data"]);
    const listDeliveries = doc.paths["/v1/external/webhooks/{webhook_id}/deliveries"].get;
    expect(listDeliveries.parameters.find((p: { name: string }) => p.name === "status").schema.enum).toEqual(["pending", "retrying", "delivered", "dead_letter", "dropped"]);
    expect(listDeliveries.parameters.find((p: { name: string }) => p.name === "page_size").schema).toEqual({ type: "integer", format: "int32", minimum: 0, maximum: 200 });
    // Responses: every implicit field is always written; message fields when their rules say required.
    expect(schemas["onering.v1.Delivery"].properties.status.enum).toEqual(["pending", "retrying", "delivered", "dead_letter", "dropped"]);
    expect(schemas["onering.v1.ApiKey"].required).toEqual(expect.arrayContaining(["id", "tier", "create_time", "usage_count"]));
    expect(schemas["onering.v1.ApiKey"].required).not.toContain("revoke_time");
    expect(schemas["onering.v1.CreateKeyResponse"].required).toEqual(["key", "secret"]);
    expect(schemas["onering.v1.ListDeliveriesResponse"].required).toEqual(["deliveries", "next_page_token", "circuit"]);
  });

  it("declares servers, a licence, both ways to send a key, the error shape on every error status, and each header only where it is sent", async () => {
    const { doc } = await documentOf(GatewayService);
    expect(doc.servers).toEqual([{ url: "/", description: expect.any(String) }]);
    expect(doc.info.license).toMatchObject({ name: expect.any(String) });
    expect(Object.keys(doc.components.securitySchemes)).toEqual(["bearer", "apiKey"]);
    expect(doc.components.schemas.Error.properties.code.enum).toEqual(expect.arrayContaining(["CANARY_ONLY_MODE", "RATE_LIMITED", "INVALID_ARGUMENT", "PAYLOAD_TOO_LARGE", "WEBHOOK_DISABLED"]));
    const rateLimit = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const op of Object.values(ops)) {
        expect(op.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
        for (const status of ["400", "401", "403", "404", "405", "409", "413", "429", "500", "503"]) {
          expect(op.responses[status].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
          expect(op.responses[status].headers["X-Request-Id"]).toBeDefined();
        }
        expect(op.responses["503"].headers["Retry-After"]).toBeDefined();
        const ok = Object.keys(op.responses["200"].headers);
        expect(ok).toContain("X-Canary-Mode");
        if (path.startsWith("/v1/external/")) {
          expect(ok).toEqual(expect.arrayContaining(rateLimit));
          expect(op.responses["429"].headers["Retry-After"]).toMatchObject({ required: true });
          expect(Object.keys(op.responses["401"].headers)).not.toContain("X-RateLimit-Limit");
        } else {
          for (const response of Object.values(op.responses) as Array<{ headers: object }>) for (const name of rateLimit) expect(Object.keys(response.headers)).not.toContain(name);
        }
      }
    }
  });

  it("lists 415 on the routes that take a body, and only there", async () => {
    const { doc } = await documentOf(GatewayService);
    expect(doc.components.schemas.Error.properties.code.enum).toContain("UNSUPPORTED_MEDIA_TYPE");
    for (const op of operations(doc)) expect([op.operationId, op.responses["415"] !== undefined]).toEqual([op.operationId, op.requestBody !== undefined]);
    expect(doc.paths["/v1/admin/external/keys"].post.responses["415"]).toBeDefined();
    expect(doc.paths["/v1/external/me"].get.responses["415"]).toBeUndefined();
  });
});

describe("any service's OpenAPI document", () => {
  it("is valid with enums, wrappers, nested variables, deep wildcards, a body field and a response body", async () => {
    const { service } = probeFile({
      Get: { pattern: { case: "get", value: "/v1/shelves/{inner.label}/probes/{name=items/*}" } },
      Put: { pattern: { case: "put", value: "/v1/probes/{name}" }, body: "inner", responseBody: "inner" },
      Update: { pattern: { case: "custom", value: { kind: "PATCH", path: "/v1/files/{name=**}:touch" } }, body: "*" },
    });
    const { doc } = await documentOf(service);
    await expectValid(doc);
    const get = doc.paths["/v1/shelves/{inner.label}/probes/{name}"].get;
    expect(get.parameters.slice(0, 2).map((p: { name: string }) => p.name)).toEqual(["inner.label", "name"]);
    expect(get.parameters.find((p: { name: string }) => p.name === "colors")).toMatchObject({ in: "query", schema: { type: "array", items: { enum: ["COLOR_UNSPECIFIED", "COLOR_RED", "COLOR_GREEN"] } } });
    expect(get.parameters.find((p: { name: string }) => p.name === "wrapped").schema).toEqual({ type: "integer", format: "int32" });
    const put = doc.paths["/v1/probes/{name}"].put;
    expect(put.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/resttest.v1.Inner" });
    expect(put.responses["200"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/resttest.v1.Inner" });
    expect(doc.paths["/v1/files/{name}:touch"].patch.parameters[0].description).toBe("Matches **.");
  });
});
