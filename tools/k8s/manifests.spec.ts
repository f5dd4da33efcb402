import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import {
  WORKSPACE_ROOT,
  adapterProblems,
  appEnv,
  composeProblems,
  dockerfileProblems,
  entryPointProblems,
  envProblems,
  imageFiles,
  imageLayoutProblems,
  thirdPartyImageProblems,
  type ComposeFile,
  PROBES,
  probeProblems,
  referenceProblems,
  schemaProblems,
  secretProblems,
  type EnvCheckOptions,
} from './checks';
import { K8sObject, merge, podSpecOf, render } from './render';

const K8S = path.join(WORKSPACE_ROOT, 'k8s');
const rendered = { base: render(path.join(K8S, 'base')), dev: render(path.join(K8S, 'dev')), prod: render(path.join(K8S, 'prod')) };

const compose = parse(readFileSync(path.join(WORKSPACE_ROOT, 'docker', 'compose.yaml'), 'utf8'), { merge: true }) as ComposeFile;
const defaults = parse(readFileSync(path.join(K8S, 'env-defaults.yaml'), 'utf8')) as Record<string, string[]>;
const prodSecretExample = Object.fromEntries(
  readFileSync(path.join(K8S, 'prod/secrets.example.env'), 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z]/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
);
const envOptions = (overlay: keyof typeof rendered): EnvCheckOptions => ({ defaults, externalSecretExample: overlay === 'prod' ? prodSecretExample : undefined });

const find = (objects: K8sObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name)!;
const names = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind).map((o) => o.metadata.name).sort();
const appContainer = (obj: K8sObject) => podSpecOf(obj)!.containers[0];
const envValue = (obj: K8sObject, name: string) => appContainer(obj).env.find((v: any) => v.name === name)?.value;
const clone = (objects: K8sObject[]) => structuredClone(objects);

describe.each(Object.keys(rendered) as Array<keyof typeof rendered>)('k8s/%s', (overlay) => {
  const objects = rendered[overlay];

  it('validates against the Kubernetes schemas', () => {
    expect(objects.length).toBeGreaterThan(20);
    expect(schemaProblems(objects)).toEqual([]);
  });

  it('points Services, the Ingress, HPAs and PDBs at things that exist; every container has resources', () => {
    expect(referenceProblems(objects)).toEqual([]);
  });

  it('runs one adapter per PBX node (replicas 1, Recreate, own PBX_NODE)', () => {
    expect(adapterProblems(objects)).toEqual([]);
  });

  it('wires probes and scrape annotations to the apps\' real ports and paths', () => {
    expect(probeProblems(objects)).toEqual([]);
  });

  it('runs the entry points and serves the ports the images have (docker/compile.cjs layout), with the third-party images compose pins', () => {
    expect(imageLayoutProblems(objects)).toEqual([]);
    expect(thirdPartyImageProblems(objects, compose)).toEqual([]);
  });

  if (overlay !== 'base') {
    it('sets every variable each app reads (or leaves it to a documented default), and the apps accept the result', () => {
      expect(envProblems(objects, envOptions(overlay))).toEqual([]);
    });

    it('puts every namespaced object in the overlay namespace', () => {
      const namespace = overlay === 'dev' ? 'ringcloud-dev' : 'ringcloud';
      expect(objects.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== namespace).map((o) => o.kind + '/' + o.metadata.name)).toEqual([]);
      expect(names(objects, 'Namespace')).toEqual([namespace]);
    });
  } else {
    it('is namespace-less', () => {
      expect(objects.filter((o) => o.metadata.namespace)).toEqual([]);
    });
  }

  it('has HPAs for the gateway and the stateless services only, PDBs, a TLS Ingress and a 3-node NATS', () => {
    expect(names(objects, 'HorizontalPodAutoscaler')).toEqual(['api-gateway', 'calls-service', 'users-service', 'webhooks-service']);
    expect(names(objects, 'PodDisruptionBudget')).toEqual(['api-gateway', 'calls-service', 'nats', 'users-service', 'webhooks-service']);
    const nats = find(objects, 'StatefulSet', 'nats') as any;
    expect(nats.spec.replicas).toBe(3);
    expect(nats.spec.serviceName).toBe('nats-headless');
    expect(find(objects, 'Service', 'nats-headless').spec).toMatchObject({ clusterIP: 'None' });
    expect(appContainer(nats).image).toMatch(/^nats:\d+\.\d+\.\d+/);
    const conf = (find(objects, 'ConfigMap', 'nats-config') as any).data['nats.conf'] as string;
    expect(conf).toContain('jetstream');
    for (const i of [0, 1, 2]) expect(conf).toContain(`nats://nats-${i}.nats-headless:6222`);
  });

  it('has one migration Job per service with migrations, each given that service\'s database URL', () => {
    const services = readdirSync(path.join(WORKSPACE_ROOT, 'apps')).filter((app) => {
      try {
        return readdirSync(path.join(WORKSPACE_ROOT, 'apps', app, 'prisma', 'migrations')).length > 0;
      } catch {
        return false;
      }
    });
    expect(services.length).toBeGreaterThanOrEqual(3);
    expect(names(objects, 'Job')).toEqual(services.map((s) => `migrate-${s}`).sort());
    for (const service of services) {
      const container = appContainer(find(objects, 'Job', `migrate-${service}`));
      expect(container.command.slice(-2)).toEqual(['tools/db/migrate.js', service]);
      const urlVar = `${service.replace(/-(service|adapter)$/, '').toUpperCase()}_DATABASE_URL`;
      const app = objects.find((o) => o.kind === 'Deployment' && envValue(o, 'APP') === service)!;
      const fromApp = appContainer(app).env.find((v: any) => v.name === urlVar);
      expect(container.env.find((v: any) => v.name === urlVar)).toEqual(fromApp);
    }
  });

  it('lets only the ingress controller reach the gateway; services egress only to NATS, PostgreSQL (AMI for the adapter, public 443 for webhooks)', () => {
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy') as any[];
    expect(find(objects, 'NetworkPolicy', 'default-deny').spec).toMatchObject({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const appIngress = policies
      .filter((p) => p.metadata.name !== 'allow-metrics-scrape')
      .flatMap((p) => (p.spec.ingress ?? []).map((rule: any) => ({ policy: p.metadata.name, rule })))
      .filter(({ rule }) => rule.from?.some((f: any) => f.namespaceSelector));
    expect(appIngress.map((x) => x.policy)).toEqual(['api-gateway']);
    const egressPorts = (name: string) => find(objects, 'NetworkPolicy', name).spec!.valueOf() as any;
    const ports = (name: string) => egressPorts(name).egress.flatMap((r: any) => r.ports.map((p: any) => p.port)).sort();
    expect(ports('stateless-services')).toEqual([4222, 5432]);
    expect(ports('telephony-adapter')).toEqual([4222, 5038, 5432]);
    expect(ports('api-gateway')).toEqual([4222, 6379]);
    expect(ports('webhooks-service').sort((a: number, b: number) => a - b)).toEqual([443, 4222, 5432]);
    // The public-internet rule excludes private, loopback, link-local (metadata) and CGNAT ranges.
    const internet = egressPorts('webhooks-service').egress.find((r: any) => r.ports.some((p: any) => p.port === 443));
    expect(internet.to[0].ipBlock).toEqual({ cidr: '0.0.0.0/0', except: expect.arrayContaining(['10.0.0.0/8', '169.254.0.0/16', '100.64.0.0/10', '127.0.0.0/8']) });
  });
});

describe('k8s/dev', () => {
  it('runs the PBX simulator as node pbx1', () => {
    expect(envValue(find(rendered.dev, 'Deployment', 'telephony-adapter-pbx1'), 'PBX_AMI_HOST')).toBe('pbx-simulator');
    expect(names(rendered.dev, 'Deployment')).toContain('pbx-simulator');
  });
});

describe('k8s/prod', () => {
  const prod = rendered.prod;

  it('has no simulator, and an adapter for each PBX node whose address the network policy allows', () => {
    expect(prod.some((o) => JSON.stringify(o).includes('pbx-simulator'))).toBe(false);
    const adapters = prod.filter((o) => o.kind === 'Deployment' && envValue(o, 'APP') === 'telephony-adapter');
    expect(adapters.map((a) => envValue(a, 'PBX_NODE')).sort()).toEqual(['pbx1', 'pbx2']);
    const allowed = (find(prod, 'NetworkPolicy', 'telephony-adapter') as any).spec.egress
      .flatMap((r: any) => r.to ?? [])
      .filter((t: any) => t.ipBlock)
      .map((t: any) => t.ipBlock.cidr);
    expect(adapters.map((a) => `${envValue(a, 'PBX_AMI_HOST')}/32`).sort()).toEqual(allowed.sort());
  });

  it('commits no secret value and documents every key of the Secret it expects', () => {
    expect(secretProblems(prod)).toEqual([]);
    const referenced = new Set(
      prod.flatMap((o) => (podSpecOf(o)?.containers ?? []).flatMap((c: any) => (c.env ?? []).map((v: any) => v.valueFrom?.secretKeyRef?.key).filter(Boolean))),
    );
    expect([...referenced].sort()).toEqual(Object.keys(prodSecretExample).sort());
  });

  it('asks for stream replicas 3 and a pinned image tag', () => {
    expect((find(prod, 'ConfigMap', 'ringcloud-config') as any).data.NATS_STREAM_REPLICAS).toBe('3');
    const images = prod.flatMap((o) => (podSpecOf(o)?.containers ?? []).map((c: any) => c.image as string));
    expect(images.filter((i) => i.endsWith(':latest') || !i.includes(':'))).toEqual([]);
  });
});

describe('probe paths exist in the apps', () => {
  const source = (file: string) => readFileSync(path.join(WORKSPACE_ROOT, file), 'utf8');

  it('the gateway serves the probed /healthz and /readyz; the simulator /health', () => {
    const gateway = source('apps/api-gateway/src/health/health.controller.ts');
    for (const p of [PROBES['api-gateway'].liveness, PROBES['api-gateway'].readiness]) expect(gateway).toContain(`@Get('${p.slice(1)}')`);
    expect(source('apps/pbx-simulator/src/control/control-server.ts')).toContain(`path: /^\\${PROBES['pbx-simulator'].liveness}$/`);
  });
});

describe('images (docker/Dockerfile, docker/compile.cjs) and docker/compose.yaml', () => {
  it('the Dockerfile lays /app out with compile.cjs, which holds every app\'s main, the migrations, the CLI and the helpers', () => {
    expect(dockerfileProblems()).toEqual([]);
    const files = imageFiles('users-service');
    for (const f of ['apps/users-service/src/main.js', 'apps/users-service/src/cli/main.js', 'tools/db/migrate.js', 'docker/healthcheck.cjs', 'docker/selfsigned-cert.cjs']) {
      expect(files.has(f)).toBe(true);
    }
    expect([...files].some((f) => /^apps\/calls-service\/prisma\/migrations\/.+\/migration\.sql$/.test(f))).toBe(true);
    expect([...imageFiles('api-gateway')].filter((f) => f.startsWith('apps/users-service/src/') || /\/testing\/|\.spec\.js$/.test(f))).toEqual([]);
  });

  it('docker/README.md and k8s/README.md give the commands the container smoke test runs (certificate, first key)', () => {
    // Loaded by path: the smoke test is a plain script outside every project.
    const smoke = require(path.join(WORKSPACE_ROOT, 'tools/containers/smoke.cjs')) as { README_CERT: string[]; README_KEY: string[]; COMPOSE_FILE: string };
    const dockerReadme = readFileSync(path.join(WORKSPACE_ROOT, 'docker/README.md'), 'utf8');
    const composeCmd = (args: string[]) => `docker compose -f ${smoke.COMPOSE_FILE} ${args.join(' ')}`;
    expect(dockerReadme).toContain(composeCmd(smoke.README_CERT));
    expect(dockerReadme).toContain(composeCmd(smoke.README_KEY));
    const [, , service, ...cli] = smoke.README_KEY; // exec -T users-service node apps/…
    expect(readFileSync(path.join(WORKSPACE_ROOT, 'k8s/README.md'), 'utf8')).toContain(`kubectl -n ringcloud exec deploy/${service} -- ${cli.join(' ')}`);
    expect(entryPointProblems('README', service, cli)).toEqual([]);
  });

  it('compose runs the same entry points, builds each image with its own APP, and takes every third-party image from x-images', () => {
    expect(composeProblems(compose)).toEqual([]);
    expect(compose.services['users-service'].command).toEqual(['node', 'apps/users-service/src/main.js']);
    expect(compose.services.migrations.command).toEqual(['node', 'tools/db/migrate.js']);
  });

  it('docker/selfsigned-cert.cjs makes a valid self-signed certificate for TLS_SAN, with Node alone', () => {
    const { selfSigned } = require(path.join(WORKSPACE_ROOT, 'docker/selfsigned-cert.cjs')) as {
      selfSigned(o: { san?: string; days?: number }): { cert: string; key: string };
    };
    const { cert, key } = selfSigned({ san: 'DNS:api.example.com,IP:127.0.0.1,IP:::1', days: 30 });
    const x509 = new X509Certificate(cert);
    expect(x509.subject).toBe('CN=api.example.com');
    expect(x509.subjectAltName).toBe('DNS:api.example.com, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(x509.ca).toBe(true);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.checkPrivateKey(createPrivateKey(key))).toBe(true);
    expect(Date.parse(x509.validTo) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect(() => selfSigned({ san: 'URI:x' })).toThrow(/DNS:<name> or IP:<address>/);
  });

  it('catches a script the image lacks, another app\'s main, a wrong APP, a port the app does not serve, an unpinned image', () => {
    expect(entryPointProblems('x', 'api-gateway', ['node', 'apps/api-gateway/src/cli/main.js'])).toEqual(['x: apps/api-gateway/src/cli/main.js is not in the api-gateway image (docker/compile.cjs layout)']);
    expect(entryPointProblems('x', 'api-gateway', ['node', 'apps/users-service/src/main.js'])).toEqual(['x: apps/users-service/src/main.js is not in the api-gateway image (docker/compile.cjs layout)']);
    expect(entryPointProblems('x', 'api-gateway', ['sh', '-c', 'npm start'])).toEqual(['x: runs sh -c npm start; the api-gateway image runs node scripts']);
    expect(entryPointProblems('x', 'users-service', ['node', 'tools/db/migrate.js', 'billing-service'])).toEqual(['x: migrates billing-service, whose migrations are not in the users-service image']);
    expect(entryPointProblems('x', 'users-service', undefined)).toEqual([expect.stringContaining('no command')]);

    const objects = clone(rendered.dev);
    const users = appContainer(find(objects, 'Deployment', 'users-service'));
    users.command = ['node', 'apps/users-service/src/main.ts'];
    users.ports[0].containerPort = 9000;
    appContainer(find(objects, 'Deployment', 'calls-service')).env.find((v: any) => v.name === 'APP').value = 'users-service';
    expect(imageLayoutProblems(objects)).toEqual([
      'Deployment/users-service container app (ghcr.io/ringcloud/users-service:dev): apps/users-service/src/main.ts is not in the users-service image (docker/compile.cjs layout)',
      'Deployment/users-service container app (ghcr.io/ringcloud/users-service:dev): port metrics 9000 is not one it listens on (none)',
      'Deployment/calls-service container app (ghcr.io/ringcloud/calls-service:dev): APP=users-service in the calls-service image',
    ]);
    (find(objects, 'Deployment', 'redis') as any).spec.template.spec.containers[0].image = 'redis:7-alpine';
    expect(thirdPartyImageProblems(objects, compose)).toEqual([expect.stringMatching(/^Deployment\/redis: redis:7-alpine, docker\/compose.yaml pins redis:/)]);

    const broken = structuredClone(compose);
    broken.services.redis.image = 'redis:latest';
    broken.services['calls-service'].build.args.APP = 'users-service';
    expect(composeProblems(broken)).toEqual([
      'compose service redis: image redis:latest is not one of x-images',
      'compose service calls-service: builds APP=users-service as the calls-service image',
    ]);
    expect(dockerfileProblems('FROM x AS runtime\nWORKDIR /srv\nCMD ["node", "main.js"]\n')).toHaveLength(4);
  });
});

describe('the checks catch broken manifests', () => {
  const dev = () => clone(rendered.dev);
  const gateway = (objects: K8sObject[]) => find(objects, 'Deployment', 'api-gateway');

  it('finds every app config (keys and loader)', () => {
    for (const app of ['api-gateway', 'users-service', 'calls-service', 'telephony-adapter', 'pbx-simulator', 'webhooks-service']) {
      const spec = appEnv(app);
      expect(spec.keys.length).toBeGreaterThan(5);
      expect(typeof spec.load).toBe('function');
    }
    expect(appEnv('pbx-simulator').keys).toEqual(expect.arrayContaining(['SIM_AMI_PORT', 'SIM_AUTO_REGISTER', 'TELEPHONY_DATABASE_URL']));
    expect(appEnv('api-gateway').keys).toEqual(expect.arrayContaining(['NATS_URL', 'REDIS_URL', 'TRUST_PROXY']));
  });

  it('schema: a wrongly typed field', () => {
    const objects = dev();
    (gateway(objects).spec as any).replicas = 'two';
    expect(schemaProblems(objects)).toEqual([expect.stringMatching(/^Deployment\/api-gateway: .*replicas/)]);
  });

  it('env: an unset variable, a value the app refuses, a stale default', () => {
    const objects = dev();
    const env = appContainer(gateway(objects)).env as any[];
    env.splice(env.findIndex((v) => v.name === 'TRUST_PROXY'), 1);
    env.push({ name: 'BODY_LIMIT_BYTES', value: 'lots' });
    const problems = envProblems(objects, { defaults: { ...defaults, 'users-service': [...defaults['users-service'], 'GONE_VAR'] } });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('TRUST_PROXY is read by the app but not set'),
        expect.stringMatching(/api-gateway.*would not start.*BODY_LIMIT_BYTES/),
        expect.stringContaining('lists GONE_VAR'),
      ]),
    );
    expect(problems).toHaveLength(3);
  });

  it('env: a production secret that is neither rendered nor documented, a missing ConfigMap key', () => {
    const objects = clone(rendered.prod);
    appContainer(find(objects, 'Deployment', 'users-service')).env.push({ name: 'SIP_REALM', valueFrom: { configMapKeyRef: { name: 'ringcloud-config', key: 'NOPE' } } });
    const problems = envProblems(objects, { defaults, externalSecretExample: {} });
    expect(problems).toEqual(expect.arrayContaining([expect.stringContaining('API_KEY_PEPPER comes from Secret ringcloud-secrets/API_KEY_PEPPER'), expect.stringContaining('missing ConfigMap key ringcloud-config/NOPE')]));
  });

  it('probes: wrong path, undeclared port, port the app does not listen on', () => {
    const objects = dev();
    const gw = appContainer(gateway(objects));
    gw.livenessProbe.httpGet.path = '/health';
    gw.readinessProbe.httpGet.port = 'admin';
    appContainer(find(objects, 'Deployment', 'users-service')).env.push({ name: 'METRICS_PORT', value: '9999' });
    expect(probeProblems(objects)).toEqual(
      expect.arrayContaining([
        'Deployment/api-gateway (api-gateway): livenessProbe path /health, expected /healthz',
        'Deployment/api-gateway (api-gateway): readinessProbe port admin is not a declared container port',
        expect.stringMatching(/users-service.*livenessProbe port 9464, but the app listens on 9999/),
        expect.stringMatching(/users-service.*prometheus.io\/port 9464/),
      ]),
    );
  });

  it('references and adapters: a Service selecting nothing, a second adapter replica, a reused PBX node', () => {
    const objects = clone(rendered.prod);
    (find(objects, 'Service', 'calls-service').spec as any).selector = { 'app.kubernetes.io/name': 'call-service' };
    const pbx2 = find(objects, 'Deployment', 'telephony-adapter-pbx2') as any;
    pbx2.spec.replicas = 2;
    pbx2.spec.template.spec.containers[0].env.find((v: any) => v.name === 'PBX_NODE').value = 'pbx1';
    expect(referenceProblems(objects)).toEqual(['Service/calls-service: selects no pods', 'Service/calls-service: targetPort metrics is not a port of the selected pods']);
    expect(adapterProblems(objects)).toEqual([
      'Deployment/telephony-adapter-pbx2: replicas 2, an adapter per PBX node must run alone',
      'Deployment/telephony-adapter-pbx2: name does not end with its PBX_NODE pbx1',
      'Deployment/telephony-adapter-pbx2: PBX_NODE pbx1 also used by Deployment/telephony-adapter-pbx1',
    ]);
  });

  it('secrets: the dev overlay\'s committed Secret would be refused in prod', () => {
    expect(secretProblems(rendered.dev)).toEqual(['Secret/ringcloud-secrets: carries values', 'Deployment/postgres: POSTGRES_PASSWORD has an inline value']);
    const objects = clone(rendered.prod);
    appContainer(gateway(objects)).env.push({ name: 'ADMIN_TOKEN', value: 'inline-token-0123456789' });
    expect(secretProblems(objects)).toEqual(['Deployment/api-gateway: ADMIN_TOKEN has an inline value']);
  });
});

describe('render', () => {
  it('merges patch lists by name and replaces other lists', () => {
    const base = { containers: [{ name: 'app', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }], args: ['x', 'y'] };
    const patch = { containers: [{ name: 'app', env: [{ name: 'B', value: '3' }, { name: 'C', value: '4' }] }], args: ['z'] };
    expect(merge(base, patch)).toEqual({
      containers: [{ name: 'app', env: [{ name: 'A', value: '1' }, { name: 'B', value: '3' }, { name: 'C', value: '4' }] }],
      args: ['z'],
    });
  });

  it('applies the images transformer and refuses kustomize features it does not implement', () => {
    expect(appContainer(find(rendered.prod, 'Deployment', 'api-gateway')).image).toBe('ghcr.io/ringcloud/api-gateway:0.1.0');
    expect(appContainer(find(rendered.base, 'Deployment', 'api-gateway')).image).toBe('ghcr.io/ringcloud/api-gateway:latest');
    expect(() => render(path.join(__dirname, 'testdata/unsupported'))).toThrow(/unsupported kustomization field\(s\) commonLabels/);
  });
});
