// A small kustomize renderer: there is no kubectl/kustomize binary on every machine that runs the
// tests. It implements only the subset k8s/ uses, and refuses any other kustomization field, so an
// overlay cannot silently rely on something rendered differently here than by `kubectl apply -k`:
//   resources (files or directories), patches (strategic-merge patch files naming their target by
//   kind + metadata.name), namespace, images (newName/newTag).
// Patch lists merge by `name` when every item has one (containers, env, volumes — as kustomize does
// for those); other lists are replaced. Do not patch `ports` or `volumeMounts` (kustomize merges
// those by containerPort / mountPath).
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'patches', 'namespace', 'images']);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume', 'StorageClass']);

interface Kustomization {
  resources?: string[];
  patches?: Array<{ path: string }>;
  namespace?: string;
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
}

/** Renders the kustomization in `dir` (like `kustomize build dir`). */
export function render(dir: string): K8sObject[] {
  const file = path.join(dir, 'kustomization.yaml');
  const k = readYaml(file)[0] as Kustomization & Record<string, unknown>;
  const unknown = Object.keys(k).filter((key) => !SUPPORTED.has(key));
  if (unknown.length) throw new Error(`${file}: unsupported kustomization field(s) ${unknown.join(', ')} (see tools/k8s/render.ts)`);

  const objects: K8sObject[] = [];
  for (const entry of k.resources ?? []) {
    const target = path.resolve(dir, entry);
    const loaded = statSync(target).isDirectory() ? render(target) : (readYaml(target) as K8sObject[]);
    for (const obj of loaded) {
      const clash = objects.find((o) => sameId(o, obj));
      if (clash) throw new Error(`${target}: ${idOf(obj)} is defined twice`);
      objects.push(obj);
    }
  }
  for (const { path: patchPath } of k.patches ?? []) {
    for (const patch of readYaml(path.resolve(dir, patchPath)) as K8sObject[]) {
      const index = objects.findIndex((o) => o.kind === patch.kind && o.metadata.name === patch.metadata?.name);
      if (index < 0) throw new Error(`${patchPath}: no ${patch.kind} "${patch.metadata?.name}" to patch`);
      objects[index] = merge(objects[index], patch) as K8sObject;
    }
  }
  if (k.namespace) {
    for (const obj of objects) if (!CLUSTER_SCOPED.has(obj.kind)) obj.metadata.namespace = k.namespace;
  }
  for (const image of k.images ?? []) for (const obj of objects) retag(obj, image);
  return objects;
}

function readYaml(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).flatMap((doc) => {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
    const value = doc.toJS();
    return value == null ? [] : [value];
  });
}

const idOf = (o: K8sObject) => `${o.kind}/${o.metadata?.name}`;
const sameId = (a: K8sObject, b: K8sObject) => a.kind === b.kind && a.metadata.name === b.metadata.name;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const named = (list: unknown[]) => list.every((item) => isObject(item) && typeof item.name === 'string');

/** Strategic-merge subset: objects merge, `null` deletes, lists of named items merge by name, other lists replace. */
export function merge(base: unknown, patch: unknown): unknown {
  if (isObject(base) && isObject(patch)) {
    const out: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete out[key];
      else out[key] = key in base ? merge(base[key], value) : value;
    }
    return out;
  }
  if (Array.isArray(base) && Array.isArray(patch) && named(base) && named(patch)) {
    const out = [...base] as Array<Record<string, unknown>>;
    for (const item of patch as Array<Record<string, unknown>>) {
      const at = out.findIndex((existing) => existing.name === item.name);
      if (at >= 0) out[at] = merge(out[at], item) as Record<string, unknown>;
      else out.push(item);
    }
    return out;
  }
  return patch;
}

/** Every container of a pod template (Deployment, StatefulSet, Job). */
export function podSpecOf(obj: K8sObject): Record<string, any> | undefined {
  return (obj.spec as any)?.template?.spec;
}

function retag(obj: K8sObject, image: { name: string; newName?: string; newTag?: string }): void {
  const pod = podSpecOf(obj);
  for (const container of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]) {
    const [name] = String(container.image).split(/[:@]/);
    if (name !== image.name) continue;
    container.image = `${image.newName ?? name}:${image.newTag ?? String(container.image).slice(name.length + 1)}`;
  }
}
