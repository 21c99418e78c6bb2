import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import { parseAllDocuments, parseDocument } from 'yaml';
import {
  checkManifests,
  loadKustomization,
  MIGRATION_ENTRY,
  type KubernetesObject,
} from './kubernetes-manifests';

const ROOT = join(__dirname, '..', '..');
// Where kubectl is installed (this project's machines), its kustomize checks our reading of it.
const HAS_KUBECTL = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
const KUBERNETES = join(ROOT, 'deploy/kubernetes');

interface ComposeService {
  ports?: string[];
  container_name?: string;
  restart?: string;
  command?: string[];
  depends_on: Record<string, { condition: string }>;
}

function validateCompose(file: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(ROOT, 'scripts/validate-deploy.mjs'), file, '--project-directory', ROOT],
      { cwd: ROOT },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, output: stdout + stderr }),
    );
  });
}

describe('docker-compose.yml', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'orders-compose-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** A copy of docker-compose.yml changed by `edit`, validated as if it were in the repository. */
  async function validateEdited(edit: (services: Record<string, ComposeService>) => void) {
    const document = parseDocument(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), {
      merge: true,
    });
    const compose = document.toJS({ maxAliasCount: 100 }) as {
      services: Record<string, ComposeService>;
    };
    edit(compose.services);
    const file = join(scratch, `compose-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(compose));
    return validateCompose(file);
  }

  it('is valid against the Compose schema and the project rules', async () => {
    const result = await validateCompose(join(ROOT, 'docker-compose.yml'));
    expect(result.output).toContain('is valid against the Compose schema');
    expect(result.code).toBe(0);
  });

  it('fails when a service cannot be scaled or skips its migration', async () => {
    const result = await validateEdited((services) => {
      services['query-service']!.ports = ['3001:3001'];
      services['command-service']!.container_name = 'orders-command';
      delete services['command-service']!.depends_on.migrate;
      services.migrate!.restart = 'unless-stopped';
    });
    expect(result.code).toBe(1);
    expect(result.output).toContain(
      'services.query-service.ports: publishes the fixed host port 3001',
    );
    expect(result.output).toContain('services.command-service.container_name');
    expect(result.output).toContain('sets MIGRATIONS_AT_START=false but waits for no one-shot');
  });

  it('fails when the migration runs another entry point or image', async () => {
    const result = await validateEdited((services) => {
      services['command-service']!.depends_on.migrate!.condition = 'service_started';
      services.migrate!.command = ['node', 'dist/apps/command-service/main.js'];
    });
    expect(result.code).toBe(1);
    expect(result.output).toContain('services.migrate: has no healthcheck');
    expect(result.output).toContain('waits for no one-shot service running');
  });
});

describe('Kubernetes manifests (deploy/kubernetes)', () => {
  const loaded = loadKustomization(KUBERNETES);
  const fresh = () => structuredClone(loaded.objects);
  const find = (objects: KubernetesObject[], kind: string, name: string): unknown =>
    objects.find((o) => o.kind === kind && o.metadata?.name === name);
  const container = (objects: KubernetesObject[], name: string) =>
    (find(objects, 'Deployment', name) as IDeployment).spec!.template.spec!.containers[0]!;

  it('build with kustomize into objects valid for the Kubernetes API that follow the project rules', () => {
    expect(loaded.problems).toEqual([]);
    const kinds = loaded.objects.map((o) => `${String(o.kind)}/${o.metadata?.name}`).sort();
    expect(kinds).toEqual([
      'ConfigMap/command-service-config',
      'ConfigMap/query-service-config',
      'Deployment/command-service',
      'Deployment/query-service',
      'HorizontalPodAutoscaler/command-service',
      'HorizontalPodAutoscaler/query-service',
      'Job/command-service-migrate',
      'Namespace/orders',
      'PodDisruptionBudget/command-service',
      'PodDisruptionBudget/query-service',
      'Secret/command-service-secrets',
      'Secret/query-service-secrets',
      'Service/command-service',
      'Service/query-service',
    ]);
    expect(checkManifests(loaded.objects, ROOT)).toEqual([]);
  });

  (HAS_KUBECTL ? it : it.skip)('are read as `kubectl kustomize` builds them', () => {
    const built = execFileSync('kubectl', ['kustomize', KUBERNETES], { encoding: 'utf8' });
    const key = (o: KubernetesObject) => `${String(o.kind)}/${o.metadata?.name ?? ''}`;
    const byKey = (objects: KubernetesObject[]) =>
      Object.fromEntries(objects.map((o) => [key(o), o]));
    const kustomized = parseAllDocuments(built).map((d) => d.toJS() as KubernetesObject);
    expect(byKey(loaded.objects)).toEqual(byKey(kustomized));
  });

  it('fail on what the Kubernetes API schema refuses', () => {
    const objects = fresh();
    const deployment = find(objects, 'Deployment', 'command-service') as IDeployment;
    (deployment.spec as { replicas: unknown }).replicas = 'two';
    delete (container(objects, 'query-service') as { name?: string }).name;
    expect(checkManifests(objects, ROOT)).toEqual([
      'Deployment command-service: schema: data/spec/replicas must be integer',
      'Deployment query-service: schema: data/spec/template/spec/containers/0 must have required property name',
    ]);
  });

  it('fail without probes, resources, autoscaler or a disruption budget matching the pods', () => {
    const objects = fresh();
    delete container(objects, 'command-service').readinessProbe;
    container(objects, 'query-service').livenessProbe!.httpGet!.path = '/health';
    delete container(objects, 'query-service').resources!.requests;
    (
      find(objects, 'PodDisruptionBudget', 'command-service') as {
        spec: { selector: { matchLabels: Record<string, string> } };
      }
    ).spec.selector.matchLabels['app.kubernetes.io/name'] = 'command';
    const hpa = objects.findIndex((o) => o.kind === 'HorizontalPodAutoscaler');
    objects.splice(hpa, 1);
    const problems = checkManifests(objects, ROOT);
    expect(problems).toEqual(
      expect.arrayContaining([
        'Deployment command-service container command-service: has no readinessProbe (GET /health/ready)',
        'Deployment query-service container query-service: livenessProbe asks /health, not /health/live',
        'Deployment query-service container query-service: no resources requests.cpu, requests.memory',
        'Deployment command-service: no PodDisruptionBudget selects its pods',
        'Deployment command-service: 0 HorizontalPodAutoscalers target it, expected 1',
      ]),
    );
  });

  it('fail when the environment misses, misspells or breaks a variable the services need', () => {
    const objects = fresh();
    const secret = find(objects, 'Secret', 'command-service-secrets') as {
      stringData: Record<string, string>;
    };
    delete secret.stringData.DATABASE_URL;
    const queryConfig = find(objects, 'ConfigMap', 'query-service-config') as {
      data: Record<string, string>;
    };
    queryConfig.data.PREFECH = '256';
    delete queryConfig.data.AUTH_ISSUER;
    const problems = checkManifests(objects, ROOT);
    expect(problems).toEqual(
      expect.arrayContaining([
        'Deployment command-service container command-service: DATABASE_URL is not set',
        'Job command-service-migrate: DATABASE_URL is not set',
        "Deployment query-service container query-service: PREFECH is not a query service variable in README.md's table",
        expect.stringMatching(
          /^Deployment query-service container query-service: the service would refuse this environment: .*AUTH_ISSUER/s,
        ),
      ]),
    );
  });

  it('fail when the Job does not run the migration of the release the Deployments run', () => {
    const objects = fresh();
    const job = find(objects, 'Job', 'command-service-migrate') as IJob;
    const migrate = job.spec!.template.spec!.containers[0]!;
    expect(migrate.command).toEqual(['node', MIGRATION_ENTRY]);
    migrate.command = ['node', 'dist/apps/command-service/apps/command-service/src/main.js'];
    migrate.image = 'orders-cqrs/command-service:0.0.9';
    container(objects, 'query-service').image = 'orders-cqrs/query-service:latest';
    const problems = checkManifests(objects, ROOT);
    expect(problems).toEqual(
      expect.arrayContaining([
        `Job command-service-migrate: runs 'node dist/apps/command-service/apps/command-service/src/main.js', not 'node ${MIGRATION_ENTRY}'`,
        'Deployment query-service container query-service: image orders-cqrs/query-service:latest is not pinned',
        "the services' images differ in version: 0.1.0, 0.0.9",
      ]),
    );
  });

  it('fail when a pod could run as root or gain privileges', () => {
    const objects = fresh();
    const pod = (find(objects, 'Deployment', 'query-service') as IDeployment).spec!.template.spec!;
    delete pod.securityContext!.runAsNonRoot;
    container(objects, 'query-service').securityContext!.allowPrivilegeEscalation = true;
    expect(checkManifests(objects, ROOT)).toEqual([
      'Deployment query-service container query-service: runAsNonRoot is not true',
      'Deployment query-service container query-service: allowPrivilegeEscalation is not false',
    ]);
  });

  it('fail on a broken file: a missing resource or invalid YAML', () => {
    const copy = mkdtempSync(join(tmpdir(), 'orders-kustomize-'));
    try {
      cpSync(KUBERNETES, copy, { recursive: true });
      writeFileSync(join(copy, 'query-service.yaml'), 'kind: Deployment\n  name: [unclosed\n');
      const kustomization = join(copy, 'kustomization.yaml');
      writeFileSync(
        kustomization,
        readFileSync(kustomization, 'utf8').replace('- namespace.yaml', '- namespaces.yaml'),
      );
      const { problems } = loadKustomization(copy);
      expect(problems).toEqual(
        expect.arrayContaining([
          'kustomization.yaml: resource namespaces.yaml does not exist',
          expect.stringContaining('query-service.yaml: YAML:'),
        ]),
      );
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
