// Renders a kustomization with exactly the kustomize features deploy/ uses
// (resources, namespace, images, replicas, inline JSON 6902 patches), so the
// manifests are validated on any machine; where kubectl exists, a test checks
// that `kubectl kustomize` agrees. Any other field fails loudly rather than
// being silently ignored.
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parse, parseAllDocuments } from "yaml";

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

interface Kustomization {
  namespace?: string;
  resources?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
  replicas?: { name: string; count: number }[];
  patches?: { target: { kind: string; name: string }; patch: string; path?: string }[];
}

interface PatchOp {
  op: "add" | "replace" | "remove";
  path: string;
  value?: unknown;
}

const supportedFields = new Set(["apiVersion", "kind", "namespace", "resources", "images", "replicas", "patches"]);
const clusterScoped = new Set(["Namespace"]);
const scalable = new Set(["Deployment", "StatefulSet", "ReplicaSet"]);

export function readYamlObjects(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, "utf8"))
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

export function renderKustomization(dir: string): K8sObject[] {
  const k = parse(readFileSync(path.join(dir, "kustomization.yaml"), "utf8")) as Kustomization;
  for (const field of Object.keys(k)) {
    if (!supportedFields.has(field)) throw new Error(`${dir}: kustomize field "${field}" is not supported by this renderer`);
  }
  const objects: K8sObject[] = [];
  for (const resource of k.resources ?? []) {
    const p = path.join(dir, resource);
    objects.push(...(statSync(p).isDirectory() ? renderKustomization(p) : readYamlObjects(p)));
  }
  for (const { target, patch, path: file } of k.patches ?? []) {
    if (file !== undefined) throw new Error(`${dir}: patch files are not supported, inline the patch`);
    const matches = objects.filter((o) => o.kind === target.kind && o.metadata.name === target.name);
    if (matches.length === 0) throw new Error(`${dir}: patch target ${target.kind}/${target.name} not found`);
    for (const object of matches) for (const op of parse(patch) as PatchOp[]) applyOp(object, op);
  }
  for (const { name, count } of k.replicas ?? []) {
    const matches = objects.filter((o) => scalable.has(o.kind) && o.metadata.name === name);
    if (matches.length === 0) throw new Error(`${dir}: replicas target ${name} not found`);
    for (const object of matches) (object.spec as { replicas?: number }).replicas = count;
  }
  for (const image of k.images ?? []) {
    for (const object of objects) for (const container of podContainers(object)) retag(container, image);
  }
  if (k.namespace) {
    for (const object of objects) if (!clusterScoped.has(object.kind)) object.metadata.namespace = k.namespace;
  }
  return objects;
}

/** The pod template's spec of a workload, if it has one. */
export function podSpec(object: K8sObject): Record<string, any> | undefined {
  const spec = object.spec as { template?: { spec?: Record<string, any> } } | undefined;
  return spec?.template?.spec;
}

export function podContainers(object: K8sObject): Record<string, any>[] {
  const spec = podSpec(object);
  return spec ? [...(spec.containers ?? []), ...(spec.initContainers ?? [])] : [];
}

function retag(container: Record<string, any>, image: NonNullable<Kustomization["images"]>[number]): void {
  const current = String(container.image);
  const at = current.lastIndexOf(":");
  const [name, tag] = at > current.lastIndexOf("/") ? [current.slice(0, at), current.slice(at + 1)] : [current, undefined];
  if (name !== image.name) return;
  const newTag = image.newTag ?? tag;
  container.image = `${image.newName ?? name}${newTag ? `:${newTag}` : ""}`;
}

function applyOp(object: K8sObject, op: PatchOp): void {
  const keys = op.path.split("/").slice(1).map((k) => k.replaceAll("~1", "/").replaceAll("~0", "~"));
  const last = keys.pop();
  if (last === undefined) throw new Error(`patch path "${op.path}" is empty`);
  let parent: any = object;
  for (const key of keys) {
    parent = parent?.[Array.isArray(parent) ? Number(key) : key];
    if (parent === undefined) throw new Error(`patch path "${op.path}" does not exist in ${object.kind}/${object.metadata.name}`);
  }
  const isArray = Array.isArray(parent);
  const index = isArray ? (last === "-" ? parent.length : Number(last)) : undefined;
  if (op.op !== "add" && !(isArray ? index! < parent.length : last in parent)) {
    throw new Error(`patch path "${op.path}" does not exist in ${object.kind}/${object.metadata.name}`);
  }
  if (op.op === "remove") isArray ? parent.splice(index, 1) : delete parent[last];
  else if (op.op === "add" && isArray) parent.splice(index, 0, op.value);
  else parent[isArray ? index! : last] = op.value;
}
