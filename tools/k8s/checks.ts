// Checks on rendered manifests. Each returns a list of problems (empty = fine), so a test can show
// both that the real manifests pass and that a broken one is caught.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { K8sObject, podSpecOf } from './render';

export const WORKSPACE_ROOT = path.resolve(__dirname, '../..');

// Typed loosely: the models' base class comes from an exports-only package that node10 resolution cannot see.
const MODELS: Record<string, new (data: never) => unknown> = {
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
};

const id = (o: K8sObject) => `${o.kind}/${o.metadata?.name}`;

/** Every object against the Kubernetes OpenAPI schema (kubernetes-models); unknown kinds are problems too. */
export function schemaProblems(objects: K8sObject[]): string[] {
  return objects.flatMap((obj) => {
    const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
    if (!Model) return [`${id(obj)}: no schema for ${obj.apiVersion} ${obj.kind} (add it to MODELS)`];
    try {
      (new Model(structuredClone(obj) as never) as { validate(): void }).validate();
      return [];
    } catch (err) {
      return [`${id(obj)}: ${(err as Error).message}`];
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Environment: what each app reads at start, read from its own config module.

export interface AppEnv {
  app: string;
  /** Every variable the app's config schema reads. */
  keys: string[];
  /** The app's own loader (`load*Config(env)`): throws when the environment would stop it. */
  load: (env: NodeJS.ProcessEnv) => unknown;
}

function configFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return ['generated', 'testing'].includes(entry.name) ? [] : configFiles(full);
    return /config[\w-]*\.ts$/.test(entry.name) && !entry.name.endsWith('.spec.ts') ? [full] : [];
  });
}

/**
 * Reads apps/<app>/src/**\/config*.ts: the keys of its exported `*Env` zod schema (or, when the
 * schema is not exported, the file's `KEY: z.…(` / `KEY: helper(` entries) and its `load*Config` function.
 */
export function appEnv(app: string): AppEnv {
  const files = configFiles(path.join(WORKSPACE_ROOT, 'apps', app, 'src'));
  const keys = new Set<string>();
  let load: AppEnv['load'] | undefined;
  for (const file of files) {
    // Loaded by path at test time on purpose: this tool inspects the apps, it is not part of them.
    const mod = require(file) as Record<string, any>;
    const schemas = Object.entries(mod).filter(([name, v]) => /Env$/.test(name) && v && typeof v === 'object' && v.shape);
    for (const [, schema] of schemas) for (const key of Object.keys(schema.shape)) keys.add(key);
    if (!schemas.length) for (const m of readFileSync(file, 'utf8').matchAll(/^\s+([A-Z][A-Z0-9_]+):\s*[A-Za-z_][\w.]*\(/gm)) keys.add(m[1]);
    const loader = Object.entries(mod).find(([name, v]) => /^load\w*Config$/.test(name) && typeof v === 'function');
    if (loader) load = (env) => loader[1](env);
  }
  if (!load || keys.size === 0) throw new Error(`${app}: found no config schema / load*Config in ${files.join(', ') || 'apps/' + app + '/src'}`);
  return { app, keys: [...keys].sort(), load };
}

/** Where a container's variables come from, resolved against the rendered ConfigMaps and Secrets. */
export interface ResolvedEnv {
  values: Record<string, string>;
  /** Variables whose value lives in a Secret that is not among the rendered objects (created by the operator). */
  external: Array<{ name: string; secret: string; key: string }>;
  problems: string[];
}

export function resolveEnv(container: any, objects: K8sObject[], where: string): ResolvedEnv {
  const out: ResolvedEnv = { values: {}, external: [], problems: [] };
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name) as any;
  const secretData = (secret: any): Record<string, string> => ({
    ...Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString()])),
    ...(secret.stringData ?? {}),
  });
  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef ?? source.secretRef;
    const obj = find(source.configMapRef ? 'ConfigMap' : 'Secret', ref.name);
    if (!obj) {
      if (!ref.optional) out.problems.push(`${where}: envFrom ${ref.name} is not rendered`);
      continue;
    }
    Object.assign(out.values, source.configMapRef ? obj.data : secretData(obj));
  }
  for (const v of container.env ?? []) {
    if (v.value !== undefined) out.values[v.name] = String(v.value);
    else if (v.valueFrom?.fieldRef) out.values[v.name] = `field-${v.valueFrom.fieldRef.fieldPath}`;
    else if (v.valueFrom?.configMapKeyRef) {
      const { name, key, optional } = v.valueFrom.configMapKeyRef;
      const value = find('ConfigMap', name)?.data?.[key];
      if (value !== undefined) out.values[v.name] = value;
      else if (!optional) out.problems.push(`${where}: ${v.name} refers to missing ConfigMap key ${name}/${key}`);
    } else if (v.valueFrom?.secretKeyRef) {
      const { name, key, optional } = v.valueFrom.secretKeyRef;
      const secret = find('Secret', name);
      if (!secret) out.external.push({ name: v.name, secret: name, key });
      else {
        const value = secretData(secret)[key];
        if (value !== undefined) out.values[v.name] = value;
        else if (!optional) out.problems.push(`${where}: ${v.name} refers to missing Secret key ${name}/${key}`);
      }
    } else out.problems.push(`${where}: ${v.name} has no value`);
  }
  return out;
}

export interface EnvCheckOptions {
  /** Variables deliberately left to the app's default, by app (k8s/env-defaults.yaml). */
  defaults: Record<string, string[]>;
  /** Shape-valid stand-ins for keys of Secrets the operator creates (k8s/prod/secrets.example.env). */
  externalSecretExample?: Record<string, string>;
}

/** The app a container runs: the image selects it with APP. */
export const appOf = (container: any): string | undefined => container.env?.find((v: any) => v.name === 'APP')?.value;

export function appContainers(objects: K8sObject[]): Array<{ obj: K8sObject; container: any; app: string }> {
  return objects.flatMap((obj) =>
    obj.kind === 'Deployment' ? (podSpecOf(obj)?.containers ?? []).filter(appOf).map((container: any) => ({ obj, container, app: appOf(container)! })) : [],
  );
}

/**
 * Every variable an app reads is set in its Deployment (directly, or through a ConfigMap/Secret) or
 * is listed as a deliberate default; and the app's own loader accepts the resulting environment.
 */
export function envProblems(objects: K8sObject[], opts: EnvCheckOptions, envOf: (app: string) => AppEnv = cachedAppEnv): string[] {
  const problems: string[] = [];
  for (const { obj, container, app } of appContainers(objects)) {
    const where = `${id(obj)} (${app})`;
    const spec = envOf(app);
    const resolved = resolveEnv(container, objects, where);
    problems.push(...resolved.problems);
    const env: Record<string, string> = { ...resolved.values };
    for (const ext of resolved.external) {
      const example = opts.externalSecretExample?.[ext.key];
      if (example === undefined) problems.push(`${where}: ${ext.name} comes from Secret ${ext.secret}/${ext.key}, which is neither rendered nor documented`);
      else env[ext.name] = example;
    }
    const defaults = opts.defaults[app] ?? [];
    for (const key of spec.keys) {
      if (!(key in env) && !defaults.includes(key)) problems.push(`${where}: ${key} is read by the app but not set (nor listed in k8s/env-defaults.yaml)`);
    }
    for (const key of defaults) if (!spec.keys.includes(key)) problems.push(`${where}: k8s/env-defaults.yaml lists ${key}, which ${app} no longer reads`);
    try {
      spec.load(env);
    } catch (err) {
      problems.push(`${where}: the app would not start: ${(err as Error).message.replace(/\s+/g, ' ')}`);
    }
  }
  return problems;
}

const appEnvCache = new Map<string, AppEnv>();
function cachedAppEnv(app: string): AppEnv {
  if (!appEnvCache.has(app)) appEnvCache.set(app, appEnv(app));
  return appEnvCache.get(app)!;
}

// ---------------------------------------------------------------------------------------------
// Probes, ports and references between objects.

/** Per app: which variable sets the probed port (and its default), and the liveness/readiness paths. */
export const PROBES: Record<string, { portEnv: string; portDefault?: number; liveness: string; readiness: string }> = {
  'api-gateway': { portEnv: 'PORT', portDefault: 3000, liveness: '/healthz', readiness: '/readyz' },
  'users-service': { portEnv: 'METRICS_PORT', portDefault: 9464, liveness: '/healthz', readiness: '/readyz' },
  'calls-service': { portEnv: 'METRICS_PORT', portDefault: 9464, liveness: '/healthz', readiness: '/readyz' },
  'telephony-adapter': { portEnv: 'METRICS_PORT', portDefault: 9464, liveness: '/healthz', readiness: '/readyz' },
  'webhooks-service': { portEnv: 'METRICS_PORT', portDefault: 9464, liveness: '/healthz', readiness: '/readyz' },
  'pbx-simulator': { portEnv: 'SIM_CONTROL_PORT', portDefault: 5039, liveness: '/health', readiness: '/health' },
};

function containerPort(container: any, port: unknown): number | undefined {
  if (typeof port === 'number') return (container.ports ?? []).some((p: any) => p.containerPort === port) ? port : undefined;
  return (container.ports ?? []).find((p: any) => p.name === port)?.containerPort;
}

/** App probes hit the app's real port and paths; the scrape annotation names a declared port. */
export function probeProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const { obj, container, app } of appContainers(objects)) {
    const where = `${id(obj)} (${app})`;
    const expected = PROBES[app];
    if (!expected) {
      problems.push(`${where}: no probe expectations for ${app} (add it to PROBES)`);
      continue;
    }
    const env = resolveEnv(container, objects, where).values;
    const listens = Number(env[expected.portEnv] ?? expected.portDefault);
    for (const [kind, path] of [['livenessProbe', expected.liveness], ['readinessProbe', expected.readiness]] as const) {
      const probe = container[kind]?.httpGet;
      if (!probe) {
        problems.push(`${where}: no HTTP ${kind}`);
        continue;
      }
      if (probe.path !== path) problems.push(`${where}: ${kind} path ${probe.path}, expected ${path}`);
      const port = containerPort(container, probe.port);
      if (port === undefined) problems.push(`${where}: ${kind} port ${probe.port} is not a declared container port`);
      else if (port !== listens) problems.push(`${where}: ${kind} port ${port}, but the app listens on ${listens} (${expected.portEnv})`);
    }
    const annotations = (obj.spec as any).template.metadata?.annotations ?? {};
    if (app !== 'pbx-simulator') {
      if (annotations['prometheus.io/scrape'] !== 'true') problems.push(`${where}: no prometheus.io/scrape annotation`);
      if (Number(annotations['prometheus.io/port']) !== listens) problems.push(`${where}: prometheus.io/port ${annotations['prometheus.io/port']}, the app serves /metrics on ${listens}`);
    }
  }
  return problems;
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

const workloads = (objects: K8sObject[]) => objects.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind));
const podLabels = (o: K8sObject) => (o.spec as any)?.template?.metadata?.labels as Record<string, string> | undefined;

/** Services, Ingress, HPAs and PDBs point at things that exist; workloads have resources. */
export function referenceProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const w of workloads(objects)) {
    if (!matches((w.spec as any).selector?.matchLabels, podLabels(w))) problems.push(`${id(w)}: selector does not match its pod labels`);
  }
  for (const o of objects.filter((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet' || x.kind === 'Job')) {
    for (const c of podSpecOf(o)?.containers ?? []) {
      if (!c.resources?.requests || !c.resources?.limits) problems.push(`${id(o)}: container ${c.name} has no resource requests/limits`);
    }
  }
  for (const svc of objects.filter((o) => o.kind === 'Service')) {
    const pods = workloads(objects).filter((w) => matches((svc.spec as any).selector, podLabels(w)));
    if (!pods.length) problems.push(`${id(svc)}: selects no pods`);
    for (const port of (svc.spec as any).ports ?? []) {
      const target = port.targetPort ?? port.port;
      if (!pods.some((w) => (podSpecOf(w)?.containers ?? []).some((c: any) => containerPort(c, target) !== undefined))) {
        problems.push(`${id(svc)}: targetPort ${target} is not a port of the selected pods`);
      }
    }
  }
  for (const ing of objects.filter((o) => o.kind === 'Ingress')) {
    const spec = ing.spec as any;
    if (!spec.tls?.length) problems.push(`${id(ing)}: no TLS`);
    for (const rule of spec.rules ?? []) {
      if (!spec.tls?.some((t: any) => t.hosts?.includes(rule.host))) problems.push(`${id(ing)}: host ${rule.host} not covered by TLS`);
      for (const p of rule.http?.paths ?? []) {
        const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === p.backend.service?.name) as any;
        const port = p.backend.service?.port;
        if (!svc) problems.push(`${id(ing)}: backend Service ${p.backend.service?.name} does not exist`);
        else if (!svc.spec.ports.some((sp: any) => sp.name === port.name || sp.port === port.number)) problems.push(`${id(ing)}: backend port ${JSON.stringify(port)} not on ${id(svc)}`);
      }
    }
  }
  for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
    const ref = (hpa.spec as any).scaleTargetRef;
    if (!objects.some((o) => o.kind === ref.kind && o.metadata.name === ref.name)) problems.push(`${id(hpa)}: target ${ref.kind}/${ref.name} does not exist`);
  }
  for (const pdb of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
    if (!workloads(objects).some((w) => matches((pdb.spec as any).selector?.matchLabels, podLabels(w)))) problems.push(`${id(pdb)}: selects no pods`);
  }
  return problems;
}

/** One adapter per PBX node: replicas 1, Recreate, a PBX_NODE of its own matching its name. */
export function adapterProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const { obj, container, app } of appContainers(objects)) {
    if (app !== 'telephony-adapter') continue;
    const spec = obj.spec as any;
    const node = container.env?.find((v: any) => v.name === 'PBX_NODE')?.value;
    if (spec.replicas !== 1) problems.push(`${id(obj)}: replicas ${spec.replicas}, an adapter per PBX node must run alone`);
    if (spec.strategy?.type !== 'Recreate') problems.push(`${id(obj)}: strategy ${spec.strategy?.type}, must be Recreate (never two sessions on one AMI)`);
    if (!node) problems.push(`${id(obj)}: no PBX_NODE`);
    else {
      if (obj.metadata.name !== `telephony-adapter-${node}`) problems.push(`${id(obj)}: name does not end with its PBX_NODE ${node}`);
      if (seen.has(node)) problems.push(`${id(obj)}: PBX_NODE ${node} also used by ${seen.get(node)}`);
      seen.set(node, id(obj));
    }
    if (!container.env?.some((v: any) => v.name === 'PBX_AMI_HOST')) problems.push(`${id(obj)}: no PBX_AMI_HOST`);
    if (objects.some((o) => o.kind === 'HorizontalPodAutoscaler' && (o.spec as any).scaleTargetRef.name === obj.metadata.name)) {
      problems.push(`${id(obj)}: an HPA would start a second session on the same PBX`);
    }
  }
  return problems;
}

/** Prod commits no secret: no Secret carries data, and no secret-looking variable has an inline value. */
export function secretProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const s of objects.filter((o) => o.kind === 'Secret') as any[]) {
    if (Object.keys(s.data ?? {}).length || Object.keys(s.stringData ?? {}).length) problems.push(`${id(s)}: carries values`);
  }
  const secretish = /SECRET|PASSWORD|TOKEN|PEPPER|_KEY$|DATABASE_URL|REDIS_URL/;
  for (const o of objects) {
    for (const c of podSpecOf(o)?.containers ?? []) {
      for (const v of c.env ?? []) if (secretish.test(v.name) && v.value !== undefined) problems.push(`${id(o)}: ${v.name} has an inline value`);
    }
  }
  for (const cm of objects.filter((o) => o.kind === 'ConfigMap') as any[]) {
    for (const key of Object.keys(cm.data ?? {})) if (secretish.test(key)) problems.push(`${id(cm)}: ${key} belongs in a Secret`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Images: what docker/Dockerfile puts in each app's image, from docker/compile.cjs's layout (the
// same function the build runs), so that no manifest runs a script or serves a port the image lacks.

interface ImageLayout {
  APPS: string[];
  layout(app: string): Array<{ source: string; target: string; kind: 'compile' | 'copy' }>;
}
// Loaded by path on purpose: the build script is plain CommonJS outside every project.
const compileScript = (): ImageLayout => require(path.join(WORKSPACE_ROOT, 'docker', 'compile.cjs')) as ImageLayout;

const layoutCache = new Map<string, Set<string>>();
/** Files under /app in the image of `app` (besides node_modules and package.json). */
export function imageFiles(app: string): Set<string> {
  if (!layoutCache.has(app)) layoutCache.set(app, new Set(compileScript().layout(app).map((e) => e.target)));
  return layoutCache.get(app)!;
}

/** The app whose image this is: ghcr.io/ringcloud/<app>:tag (k8s) or ringcloud/<app>:local (compose). */
export function imageApp(image: string): string | undefined {
  const app = /(?:^|\/)ringcloud\/([a-z0-9-]+)(?:[:@]|$)/.exec(image)?.[1];
  return app && compileScript().APPS.includes(app) ? app : undefined;
}

/** TCP ports an app listens on in a given environment (each app's config defaults). */
export function listenPorts(app: string, env: Record<string, string | undefined>): number[] {
  const port = (name: string, fallback: number) => Number(env[name] ?? fallback);
  switch (app) {
    case 'api-gateway':
      return [port('PORT', 3000)];
    case 'pbx-simulator':
      return [port('SIM_AMI_PORT', 5038), port('SIM_CONTROL_PORT', 5039)];
    default:
      return port('METRICS_PORT', 9464) === 0 ? [] : [port('METRICS_PORT', 9464)];
  }
}

/** `command` runs a script the image of `app` holds: its own main, tools/db/migrate.js, the CLI… */
export function entryPointProblems(where: string, app: string, command: unknown): string[] {
  if (!Array.isArray(command) || command.length === 0) return [`${where}: no command: name the image's entry point (node apps/${app}/src/main.js)`];
  const [bin, script, ...args] = command.map(String);
  if (bin !== 'node' || !script) return [`${where}: runs ${command.join(' ')}; the ${app} image runs node scripts`];
  const files = imageFiles(app);
  if (!files.has(script)) return [`${where}: ${script} is not in the ${app} image (docker/compile.cjs layout)`];
  const main = /^apps\/([^/]+)\/src\/main\.js$/.exec(script);
  if (main && main[1] !== app) return [`${where}: runs ${main[1]}'s main in the ${app} image`];
  if (script === 'tools/db/migrate.js') {
    return args
      .filter((service) => ![...files].some((f) => f.startsWith(`apps/${service}/prisma/migrations/`)))
      .map((service) => `${where}: migrates ${service}, whose migrations are not in the ${app} image`);
  }
  return [];
}

/** Every container running one of our images: its APP, command and declared ports fit that image. */
export function imageLayoutProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const obj of objects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind))) {
    const pod = podSpecOf(obj);
    for (const c of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) {
      const app = imageApp(String(c.image));
      if (!app) continue;
      const where = `${id(obj)} container ${c.name} (${c.image})`;
      const declared = appOf(c);
      if (declared && declared !== app) problems.push(`${where}: APP=${declared} in the ${app} image`);
      problems.push(...entryPointProblems(where, app, c.command));
      const runsMain = c.command?.[1] === `apps/${app}/src/main.js`;
      const listens = runsMain ? listenPorts(app, resolveEnv(c, objects, where).values) : [];
      for (const p of c.ports ?? []) {
        if (!listens.includes(p.containerPort)) {
          problems.push(`${where}: port ${p.name ?? ''} ${p.containerPort} is not one it listens on (${listens.join(', ') || 'none'})`);
        }
      }
    }
  }
  return problems;
}

/** docker/Dockerfile lays out /app with compile.cjs and its default command is an app's main. */
export function dockerfileProblems(text = readFileSync(path.join(WORKSPACE_ROOT, 'docker', 'Dockerfile'), 'utf8')): string[] {
  const problems: string[] = [];
  const runtime = text.slice(text.search(/^FROM \S+ AS runtime$/m));
  if (!/^FROM /m.test(runtime)) return ['docker/Dockerfile: no runtime stage'];
  if (!/node docker\/compile\.cjs "\$\{APP\}" \/out/.test(text)) problems.push('docker/Dockerfile: the build stage does not run `node docker/compile.cjs "${APP}" /out`');
  if (!/^WORKDIR \/app$/m.test(runtime)) problems.push('docker/Dockerfile: the runtime stage does not work in /app');
  if (!/^COPY --from=build \S* ?\/out \.\/$/m.test(runtime)) problems.push('docker/Dockerfile: the runtime stage does not copy /out to /app');
  const cmd = /^CMD (.+)$/m.exec(runtime)?.[1];
  if (!cmd?.includes('exec node apps/${APP}/src/main.js')) problems.push(`docker/Dockerfile: CMD ${cmd} is not the app's main`);
  for (const app of compileScript().APPS) if (!imageFiles(app).has(`apps/${app}/src/main.js`)) problems.push(`docker/Dockerfile: the ${app} image has no apps/${app}/src/main.js`);
  return problems;
}

export interface ComposeFile {
  services: Record<string, any>;
  'x-images'?: Record<string, string>;
}

/** `${VAR:-default}` → default (compose's interpolation with nothing set). */
export const composeDefault = (value: string): string => /^\$\{\w+:-([^}]+)\}$/.exec(value)?.[1] ?? value;

/**
 * docker/compose.yaml: our images run an entry point they hold, built with the APP of their name;
 * every third-party image comes from `x-images` (pinned once).
 */
export function composeProblems(compose: ComposeFile): string[] {
  const problems: string[] = [];
  const pinned = new Set(Object.values(compose['x-images'] ?? {}));
  if (!pinned.size) problems.push('docker/compose.yaml: no x-images (the pinned third-party images)');
  for (const [name, svc] of Object.entries(compose.services)) {
    const where = `compose service ${name}`;
    const app = imageApp(String(svc.image));
    if (!app) {
      if (!pinned.has(svc.image)) problems.push(`${where}: image ${svc.image} is not one of x-images`);
      continue;
    }
    if (svc.build?.args?.APP !== app) problems.push(`${where}: builds APP=${svc.build?.args?.APP} as the ${app} image`);
    if (svc.build && !pinned.has(svc.build.args?.NODE_IMAGE)) problems.push(`${where}: NODE_IMAGE ${svc.build.args?.NODE_IMAGE} is not x-images' node`);
    problems.push(...entryPointProblems(where, app, svc.command));
  }
  return problems;
}

/** Third-party images of the manifests that compose also runs (nats, postgres, redis): the same pins. */
export function thirdPartyImageProblems(objects: K8sObject[], compose: ComposeFile): string[] {
  const pinned = Object.values(compose['x-images'] ?? {}).map(composeDefault);
  const problems: string[] = [];
  for (const obj of objects) {
    for (const c of podSpecOf(obj)?.containers ?? []) {
      const image = String(c.image);
      if (imageApp(image)) continue;
      const repo = image.split(':')[0];
      const same = pinned.find((p) => p.split(':')[0] === repo);
      if (same && same !== image) problems.push(`${id(obj)}: ${image}, docker/compose.yaml pins ${same}`);
    }
  }
  return problems;
}
