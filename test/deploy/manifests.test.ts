// Renders both overlays offline and holds every object to the Kubernetes
// OpenAPI schemas and to the deployment's policy rules (issue 8).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { repoRoot } from "../../tools/mesh/processes.js";
import { podContainers, podSpec, renderKustomization, type K8sObject } from "./kustomize.js";

const overlays = ["dev", "prod"] as const;
const rendered = Object.fromEntries(overlays.map((o) => [o, renderKustomization(path.join(repoRoot, "deploy", "overlays", o))])) as Record<
  (typeof overlays)[number],
  K8sObject[]
>;
const deployDoc = readFileSync(path.join(repoRoot, "docs", "DEPLOY.md"), "utf8");
const configSource = readFileSync(path.join(repoRoot, "services", "shared", "config.ts"), "utf8");

/** Variables only the local launcher (`npm start`) reads; a pod never sees them. */
const launcherOnly = new Set(["ONERING_PORT_BASE"]);
/** Every environment variable the one config loader reads, from its string literals. */
const configVariables = [...new Set([...configSource.matchAll(/"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|HOST|PORT)"/g)].map((m) => m[1]!))].filter(
  (name) => !launcherOnly.has(name),
);
/** Services that own a schema: those with a migrations folder. */
const storageServices = readdirSync(path.join(repoRoot, "services")).filter((s) => existsSync(path.join(repoRoot, "services", s, "migrations")));
const meshProcessNames = ["gateway", "key", "webhook", "metrics", "webhook-worker"];

const kubectl = (() => {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const find = (objects: K8sObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const workloads = (objects: K8sObject[]) => objects.filter((o) => podSpec(o) !== undefined);
const longRunning = (objects: K8sObject[]) => objects.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet");
const podLabels = (o: K8sObject): Record<string, string> => (o.spec as any).template.metadata.labels ?? {};
const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    switch (e.operator) {
      case "In":
        return e.values!.includes(labels[e.key]!);
      case "NotIn":
        return !e.values!.includes(labels[e.key]!);
      case "Exists":
        return e.key in labels;
      case "DoesNotExist":
        return !(e.key in labels);
    }
  });
  return byLabels && byExpressions;
}

/** The minimum replicas a workload runs with: its HPA's floor, else spec.replicas. */
function minReplicas(objects: K8sObject[], workload: K8sObject): number {
  const hpa = byKind(objects, "HorizontalPodAutoscaler").find((h) => (h.spec as any).scaleTargetRef.name === workload.metadata.name);
  return hpa ? (hpa.spec as any).minReplicas : ((workload.spec as any).replicas ?? 1);
}

function meshDeployments(objects: K8sObject[]): K8sObject[] {
  return meshProcessNames.map((name) => {
    const d = find(objects, "Deployment", name);
    if (!d) throw new Error(`no Deployment ${name}`);
    return d;
  });
}

async function schemaValidate(object: K8sObject): Promise<void> {
  const module = (await import(`kubernetes-models/${object.apiVersion}/${object.kind}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = module[object.kind];
  if (!Model) throw new Error(`kubernetes-models has no ${object.apiVersion} ${object.kind}`);
  new Model(object).validate();
}

it("reads every variable name from config.ts", () => {
  // Guards the regex: these are known to exist today.
  expect(configVariables).toEqual(expect.arrayContaining(["DATABASE_URL", "NATS_URL", "PORT", "HOST", "ONERING_ADMIN_KEY", "ONERING_WEBHOOKS_MAX_ATTEMPTS"]));
  expect(storageServices.sort()).toEqual(["key", "metrics", "webhook"]);
});

/**
 * The schema validators accept fields they do not know, so a misspelt field
 * would pass silently. Typing each object as its kubernetes-models interface
 * lets TypeScript's excess-property check reject it instead.
 */
function unknownFieldErrors(objects: K8sObject[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), "onering-k8s-types-"));
  try {
    const source = objects.map((o, i) => {
      const module = path.join(repoRoot, "node_modules", "kubernetes-models", o.apiVersion, `${o.kind}.js`);
      return `import type { I${o.kind} as T${i} } from ${JSON.stringify(module)};\nexport const o${i}: T${i} = ${JSON.stringify(o)};`;
    });
    writeFileSync(path.join(dir, "objects.ts"), `${source.join("\n")}\n`);
    const compilerOptions = { strict: true, noEmit: true, module: "nodenext", moduleResolution: "nodenext", skipLibCheck: true, types: [] };
    writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["objects.ts"] }));
    try {
      execFileSync(path.join(repoRoot, "node_modules", ".bin", "tsc"), ["-p", dir], { encoding: "utf8", stdio: "pipe" });
      return "";
    } catch (err) {
      return String((err as { stdout: string }).stdout);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const builtIn = (objects: K8sObject[]) => objects.filter((o) => !o.apiVersion.startsWith("monitoring.coreos.com/"));

it("uses no field the Kubernetes API does not define, in either overlay", () => {
  expect(unknownFieldErrors(overlays.flatMap((o) => builtIn(rendered[o])))).toBe("");
});

it("would notice a misspelt field", () => {
  const deployment = structuredClone(find(rendered.prod, "Deployment", "gateway")!);
  (podContainers(deployment)[0] as Record<string, unknown>).readinessProbes = {};
  expect(unknownFieldErrors([deployment])).toContain("readinessProbes");
});

describe.each(overlays)("overlay %s", (overlay) => {
  const objects = rendered[overlay];

  it("renders the same objects as kubectl kustomize", (ctx) => {
    if (!kubectl) ctx.skip();
    const out = execFileSync("kubectl", ["kustomize", path.join(repoRoot, "deploy", "overlays", overlay)], { encoding: "utf8" });
    const theirs = parseAllDocuments(out).map((d) => d.toJS() as K8sObject);
    const index = (list: K8sObject[]) => Object.fromEntries(list.map((o) => [key(o), o]));
    expect(index(objects)).toEqual(index(theirs));
  });

  it("has unique objects, all in the overlay's namespace", () => {
    expect(new Set(objects.map(key)).size).toBe(objects.length);
    const namespace = byKind(objects, "Namespace")[0]!.metadata.name;
    for (const o of objects) if (o.kind !== "Namespace") expect(o.metadata.namespace, key(o)).toBe(namespace);
  });

  it("validates every built-in object against the Kubernetes OpenAPI schemas", async () => {
    for (const o of builtIn(objects)) await expect(schemaValidate(o), key(o)).resolves.toBeUndefined();
  });

  it("gives every long-running container probes, requests, limits and a locked-down security context", () => {
    for (const w of workloads(objects)) {
      const pod = podSpec(w)!;
      for (const c of podContainers(w)) {
        const where = `${key(w)} ${c.name}`;
        if (longRunning(objects).includes(w)) {
          for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) expect(c[probe], `${where} ${probe}`).toBeDefined();
        }
        for (const r of ["cpu", "memory"]) {
          expect(c.resources?.requests?.[r], `${where} requests.${r}`).toBeDefined();
          expect(c.resources?.limits?.[r], `${where} limits.${r}`).toBeDefined();
        }
        expect(c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, `${where} runAsNonRoot`).toBe(true);
        expect(c.securityContext?.readOnlyRootFilesystem, `${where} readOnlyRootFilesystem`).toBe(true);
        expect(c.securityContext?.allowPrivilegeEscalation, `${where} allowPrivilegeEscalation`).toBe(false);
        expect(c.securityContext?.capabilities?.drop, `${where} drop`).toContain("ALL");
        expect(pod.securityContext?.runAsUser ?? c.securityContext?.runAsUser, `${where} numeric non-root user`).toBeGreaterThan(0);
      }
    }
  });

  it("probes every mesh process natively over grpc.health.v1 on its own port", () => {
    for (const d of meshDeployments(objects)) {
      const [c] = podContainers(d);
      const port = c!.ports[0].containerPort;
      for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) expect(c![probe].grpc, `${d.metadata.name} ${probe}`).toEqual({ port });
      expect(c!.env.find((e: { name: string }) => e.name === "PORT").value).toBe(String(port));
    }
  });

  it("matches every Service selector and target port to a pod template", () => {
    for (const s of byKind(objects, "Service")) {
      const spec = s.spec as { selector: Record<string, string>; ports: { name: string; targetPort: string | number; appProtocol?: string }[] };
      const pods = workloads(objects).filter((w) => selects({ matchLabels: spec.selector }, podLabels(w)));
      expect(pods.length, key(s)).toBeGreaterThan(0);
      for (const port of spec.ports) {
        const named = pods.every((w) => podContainers(w).some((c) => (c.ports ?? []).some((p: { name: string; containerPort: number }) => p.name === port.targetPort || p.containerPort === port.targetPort)));
        expect(named, `${key(s)} port ${port.name}`).toBe(true);
      }
    }
    for (const name of meshProcessNames) {
      const grpc = (find(objects, "Service", name)!.spec as any).ports.find((p: { name: string }) => p.name === "grpc");
      expect(grpc.appProtocol, name).toBe("kubernetes.io/h2c");
    }
  });

  it("wires every variable config.ts reads into every mesh process, the database URL only where there is storage", () => {
    for (const d of meshDeployments(objects)) {
      const [c] = podContainers(d);
      const fromConfigMaps = (c!.envFrom ?? []).flatMap((ref: { configMapRef?: { name: string } }) =>
        ref.configMapRef ? Object.keys((find(objects, "ConfigMap", ref.configMapRef.name)?.data as object) ?? {}) : [],
      );
      const wired = new Set([...(c!.env ?? []).map((e: { name: string }) => e.name), ...fromConfigMaps]);
      // The delivery worker is WebhookService's own code on its schema.
      const hasStorage = storageServices.includes(d.metadata.name) || d.metadata.name === "webhook-worker";
      for (const variable of configVariables) {
        if (variable === "DATABASE_URL") expect(wired.has(variable), `${d.metadata.name} ${variable}`).toBe(hasStorage);
        else expect(wired.has(variable), `${d.metadata.name} ${variable}`).toBe(true);
      }
    }
  });

  it("starts at Stage 1: API on, canary-only on, webhooks off, delivery off", () => {
    expect(find(objects, "ConfigMap", "onering-config")!.data).toMatchObject({
      ONERING_EXTERNAL_API_ENABLED: "1",
      ONERING_EXTERNAL_API_CANARY_ONLY: "1",
      ONERING_WEBHOOKS_ENABLED: "0",
      ONERING_WEBHOOKS_DELIVERY_ENABLED: "0",
    });
  });

  it("references only ConfigMap and Secret keys that exist or that docs/DEPLOY.md says the operator supplies", () => {
    const refs: { kind: "ConfigMap" | "Secret"; name: string; key?: string; from: string }[] = [];
    for (const w of workloads(objects)) {
      for (const c of podContainers(w)) {
        for (const e of c.env ?? []) {
          if (e.valueFrom?.secretKeyRef) refs.push({ kind: "Secret", ...e.valueFrom.secretKeyRef, from: key(w) });
          if (e.valueFrom?.configMapKeyRef) refs.push({ kind: "ConfigMap", ...e.valueFrom.configMapKeyRef, from: key(w) });
        }
        for (const e of c.envFrom ?? []) {
          if (e.secretRef) refs.push({ kind: "Secret", name: e.secretRef.name, from: key(w) });
          if (e.configMapRef) refs.push({ kind: "ConfigMap", name: e.configMapRef.name, from: key(w) });
        }
      }
      for (const v of podSpec(w)!.volumes ?? []) {
        if (v.secret) refs.push({ kind: "Secret", name: v.secret.secretName, from: key(w) });
        if (v.configMap) refs.push({ kind: "ConfigMap", name: v.configMap.name, from: key(w) });
      }
    }
    for (const ing of byKind(objects, "Ingress")) for (const tls of (ing.spec as any).tls ?? []) refs.push({ kind: "Secret", name: tls.secretName, from: key(ing) });
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const where = `${ref.from} → ${ref.kind} ${ref.name}${ref.key ? ` key ${ref.key}` : ""}`;
      const target = find(objects, ref.kind, ref.name);
      if (target) {
        if (ref.key) expect(Object.keys({ ...(target.data as object), ...(target.stringData as object) }), where).toContain(ref.key);
      } else {
        expect(deployDoc, `${where} is neither rendered nor documented`).toContain(`\`${ref.name}\``);
        if (ref.key) expect(deployDoc, `${where} is neither rendered nor documented`).toContain(`\`${ref.key}\``);
      }
    }
    // Secrets are supplied, never committed.
    expect(byKind(objects, "Secret")).toEqual([]);
  });

  it("lets outside traffic reach only the gateway's public port, Prometheus every metrics port, and the worker out to the internet but not private ranges", () => {
    const policies = byKind(objects, "NetworkPolicy").map((p) => p.spec as any);
    const metricsPort = Number((find(objects, "ConfigMap", "onering-config")!.data as Record<string, string>).ONERING_METRICS_PORT);
    const denyAll = policies.find((p) => Object.keys(p.podSelector).length === 0 && p.policyTypes.includes("Ingress") && !p.ingress);
    expect(denyAll, "default-deny ingress").toBeDefined();
    for (const w of workloads(objects)) {
      const labels = podLabels(w);
      const ingressRules = policies.filter((p) => p.policyTypes.includes("Ingress") && selects(p.podSelector, labels)).flatMap((p) => p.ingress ?? []);
      expect(ingressRules.length > 0 || w.kind === "Job", `${key(w)} has an ingress policy`).toBe(true);
      const fromOutside = (r: { from?: { ipBlock?: unknown }[] }) => !r.from || r.from.some((f) => f.ipBlock);
      expect(ingressRules.some(fromOutside), `${key(w)} open to outside traffic`).toBe(w.metadata.name === "gateway");
      // Open to outside on named ports only, and never on the metrics port.
      for (const rule of ingressRules.filter(fromOutside)) {
        expect(rule.ports, `${key(w)} ports open to outside`).toBeDefined();
        expect(rule.ports.map((p: { port: number }) => p.port), `${key(w)} ports open to outside`).not.toContain(metricsPort);
      }
      if (meshProcessNames.includes(w.metadata.name)) {
        const scrapable = ingressRules.some(
          (r: { from?: { namespaceSelector?: LabelSelector }[]; ports?: { port: number }[] }) =>
            r.from?.some((f) => f.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] === "monitoring") && r.ports?.some((p) => p.port === metricsPort),
        );
        expect(scrapable, `${key(w)} metrics port reachable from the monitoring namespace`).toBe(true);
      }
      // Everything else: only mesh pods, or Prometheus's namespace.
      for (const rule of ingressRules) {
        for (const from of rule.from ?? []) {
          const meshPeer = from.podSelector && !from.namespaceSelector && (selects(from.podSelector, { "app.kubernetes.io/part-of": "onering" }) || selects(from.podSelector, labels));
          const monitoring = from.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] === "monitoring";
          expect(meshPeer || monitoring, `${key(w)} ingress from ${JSON.stringify(from)}`).toBe(true);
        }
      }
    }
    const worker = policies.filter((p) => p.policyTypes.includes("Egress") && selects(p.podSelector, { "app.kubernetes.io/name": "webhook-worker" }));
    expect(worker.length).toBe(1);
    const blocks = worker[0].egress.flatMap((r: { to?: { ipBlock?: { cidr: string; except?: string[] } }[] }) => (r.to ?? []).map((t) => t.ipBlock).filter(Boolean));
    const v4 = blocks.find((b: { cidr: string }) => b.cidr === "0.0.0.0/0");
    expect(v4.except).toEqual(expect.arrayContaining(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8"]));
    const v6 = blocks.find((b: { cidr: string }) => b.cidr === "::/0");
    expect(v6.except).toEqual(expect.arrayContaining(["fc00::/7", "fe80::/10"]));
  });

  it("autoscales the gateway and the worker, and gives every workload a disruption budget", () => {
    const targets = byKind(objects, "HorizontalPodAutoscaler").map((h) => (h.spec as any).scaleTargetRef);
    expect(targets.map((t) => t.name).sort()).toEqual(["gateway", "webhook-worker"]);
    for (const t of targets) expect(find(objects, t.kind, t.name), t.name).toBeDefined();
    for (const w of longRunning(objects)) {
      const budgets = byKind(objects, "PodDisruptionBudget").filter((b) => selects((b.spec as any).selector, podLabels(w)));
      expect(budgets.length, `${key(w)} PodDisruptionBudget`).toBe(1);
      // A node drain must be able to move a pod even at the smallest scale.
      const budget = budgets[0]!.spec as { maxUnavailable?: number; minAvailable?: number };
      const allowed = budget.maxUnavailable ?? minReplicas(objects, w) - budget.minAvailable!;
      expect(allowed, `${key(w)} disruptions allowed at minimum scale`).toBeGreaterThanOrEqual(1);
    }
  });

  it("scrapes every mesh Service on its metrics port and alerts at the configured thresholds", () => {
    const monitor = find(objects, "ServiceMonitor", "onering")!;
    expect(monitor.apiVersion).toBe("monitoring.coreos.com/v1");
    const spec = monitor.spec as { selector: LabelSelector; endpoints: { port: string; path: string }[] };
    const scraped = byKind(objects, "Service").filter((s) => selects(spec.selector, s.metadata.labels ?? {}));
    expect(scraped.map((s) => s.metadata.name).sort()).toEqual([...meshProcessNames].sort());
    for (const s of scraped) for (const e of spec.endpoints) expect((s.spec as any).ports.map((p: { name: string }) => p.name), s.metadata.name).toContain(e.port);
    expect(spec.endpoints.map((e) => e.path)).toEqual(["/metrics"]);
    // Not the gateway's public port, where /metrics needs the admin key: the port every process opens at ONERING_METRICS_PORT.
    expect(spec.endpoints.map((e) => e.port)).toEqual(["metrics"]);
    const metricsPort = Number((find(objects, "ConfigMap", "onering-config")!.data as Record<string, string>).ONERING_METRICS_PORT);
    expect(metricsPort).toBeGreaterThan(0);
    for (const d of meshDeployments(objects)) {
      const ports = podContainers(d)[0]!.ports as { name: string; containerPort: number }[];
      expect(ports.find((p) => p.name === "metrics")?.containerPort, d.metadata.name).toBe(metricsPort);
    }

    const rule = find(objects, "PrometheusRule", "onering-alerts")!;
    expect(rule.apiVersion).toBe("monitoring.coreos.com/v1");
    const rules = (rule.spec as { groups: { name: string; rules: { alert: string; expr: string; labels?: Record<string, string> }[] }[] }).groups.flatMap((g) => {
      expect(g.name).toBeTruthy();
      return g.rules;
    });
    for (const r of rules) {
      expect(r.alert).toMatch(/^[A-Z][A-Za-z0-9]+$/);
      expect(r.expr.trim()).not.toBe("");
    }
    const config = find(objects, "ConfigMap", "onering-config")!.data as Record<string, string>;
    const alertVariables = configVariables.filter((v) => v.startsWith("ONERING_ALERT_"));
    expect(alertVariables.length).toBeGreaterThan(0);
    for (const variable of alertVariables) {
      const r = rules.find((x) => x.labels?.threshold_variable === variable);
      expect(r, `rule for ${variable}`).toBeDefined();
      expect(Number(r!.expr.match(/>\s*([\d.]+)\s*$/)?.[1]), variable).toBe(Number(config[variable]));
    }
  });
});

describe("overlay differences", () => {
  it("dev runs one of everything with an in-cluster Postgres and a single NATS", () => {
    const dev = rendered.dev;
    for (const w of longRunning(dev)) expect(minReplicas(dev, w), key(w)).toBe(1);
    for (const h of byKind(dev, "HorizontalPodAutoscaler")) expect((h.spec as any).maxReplicas).toBe(1);
    expect(find(dev, "StatefulSet", "postgres")).toBeDefined();
    expect(String((find(dev, "ConfigMap", "nats-config")!.data as any)["nats.conf"])).not.toContain("cluster");
    expect((find(dev, "ConfigMap", "onering-config")!.data as any).ONERING_NATS_REPLICAS).toBe("1");
  });

  it("dev sends every process's traces to its OpenTelemetry Collector, which the worker may reach; prod leaves tracing off until configured", () => {
    const dev = rendered.dev;
    const endpoint = new URL((find(dev, "ConfigMap", "onering-config")!.data as any).OTEL_EXPORTER_OTLP_ENDPOINT);
    const collector = find(dev, "Service", endpoint.hostname)!;
    expect((collector.spec as any).ports.map((p: { port: number }) => p.port)).toContain(Number(endpoint.port));
    const pods = (collector.spec as any).selector;
    const egress = (find(dev, "NetworkPolicy", "webhook-worker-egress")!.spec as any).egress as { to: { podSelector?: LabelSelector }[]; ports?: { port: number }[] }[];
    expect(egress.some((r) => r.to.some((t) => t.podSelector && selects(t.podSelector, pods)) && r.ports?.some((p) => p.port === Number(endpoint.port)))).toBe(true);
    expect((find(rendered.prod, "ConfigMap", "onering-config")!.data as any).OTEL_EXPORTER_OTLP_ENDPOINT).toBe("");
    expect(find(rendered.prod, "Deployment", "otel-collector")).toBeUndefined();
  });

  it("prod runs at least two of every process, three clustered NATS servers and no in-cluster Postgres", () => {
    const prod = rendered.prod;
    for (const d of byKind(prod, "Deployment")) expect(minReplicas(prod, d), key(d)).toBeGreaterThanOrEqual(2);
    for (const h of byKind(prod, "HorizontalPodAutoscaler")) expect((h.spec as any).maxReplicas).toBeGreaterThan((h.spec as any).minReplicas);
    const nats = find(prod, "StatefulSet", "nats")!;
    expect((nats.spec as any).replicas).toBeGreaterThanOrEqual(3);
    expect((nats.spec as any).volumeClaimTemplates).toHaveLength(1);
    const conf = String((find(prod, "ConfigMap", "nats-config")!.data as any)["nats.conf"]);
    expect(conf).toContain("jetstream");
    for (let i = 0; i < 3; i++) expect(conf).toContain(`nats-${i}.nats-headless:6222`);
    expect((find(prod, "ConfigMap", "onering-config")!.data as any).ONERING_NATS_REPLICAS).toBe("3");
    expect(find(prod, "StatefulSet", "postgres")).toBeUndefined();
    for (const c of workloads(prod).flatMap(podContainers)) expect(c.image, c.name).toMatch(/:[\w.-]+$/);
  });
});
