import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job, type IJob } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';
import { loadCommandServiceConfig } from '../../apps/command-service/src/config/command-service.config';
import { loadMigrationConfig } from '../../apps/command-service/src/config/migration.config';
import { loadQueryServiceConfig } from '../../apps/query-service/src/config/query-service.config';

/** A Kubernetes object as read from YAML, before its schema is checked. */
export interface KubernetesObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** The model class (with the API's OpenAPI schema) of every kind the manifests may use. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

/** The entry point the migration Job must run, and the source it is built from. */
export const MIGRATION_ENTRY =
  'dist/apps/command-service/apps/command-service/src/database/migrate.js';
const MIGRATION_SOURCE = 'apps/command-service/src/database/migrate.ts';

/** Variables whose defaults only fit a local run: a deployment must set them. */
const REQUIRED_VARIABLES = {
  command: ['NODE_ENV', 'PORT', 'DATABASE_URL', 'RABBITMQ_URL', 'MIGRATIONS_AT_START'],
  query: ['NODE_ENV', 'PORT', 'MONGODB_URL', 'RABBITMQ_URL', 'COMMAND_SERVICE_URL'],
  migration: ['DATABASE_URL'],
} as const;

type ServiceKind = 'command' | 'query';

/**
 * What `kustomize build` would produce for the subset of kustomize this layout uses
 * (`resources` files, `namespace`, `images`); anything else is reported, not ignored.
 */
export function loadKustomization(directory: string): {
  objects: KubernetesObject[];
  problems: string[];
} {
  const problems: string[] = [];
  const file = join(directory, 'kustomization.yaml');
  const kustomization = readYaml(file, problems)[0] as
    | {
        namespace?: string;
        resources?: string[];
        images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
      }
    | undefined;
  if (!kustomization) return { objects: [], problems: [...problems, `${file}: empty`] };
  const supported = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'images']);
  for (const key of Object.keys(kustomization)) {
    if (!supported.has(key)) problems.push(`kustomization.yaml: '${key}' is not checked here`);
  }
  const objects: KubernetesObject[] = [];
  for (const resource of kustomization.resources ?? []) {
    const path = join(directory, resource);
    if (!existsSync(path)) {
      problems.push(`kustomization.yaml: resource ${resource} does not exist`);
      continue;
    }
    for (const object of readYaml(path, problems)) {
      if (object && typeof object === 'object') objects.push(object as KubernetesObject);
      else problems.push(`${resource}: a document is not an object`);
    }
  }
  for (const object of objects) {
    if (kustomization.namespace === undefined) break;
    object.metadata ??= {};
    if (object.kind === 'Namespace') object.metadata.name = kustomization.namespace;
    else object.metadata.namespace = kustomization.namespace;
  }
  for (const template of objects.flatMap(podTemplatesOf)) {
    for (const container of containersOf(template)) {
      const image = container.image ?? '';
      const rule = kustomization.images?.find((entry) => imageName(image) === entry.name);
      if (!rule) continue;
      const name = rule.newName ?? rule.name;
      container.image = rule.digest
        ? `${name}@${rule.digest}`
        : `${name}:${rule.newTag ?? imageTag(image) ?? ''}`;
    }
  }
  return { objects, problems };
}

function readYaml(path: string, problems: string[]): unknown[] {
  const documents = parseAllDocuments(readFileSync(path, 'utf8'));
  const list = Array.isArray(documents) ? documents : [documents];
  return list.flatMap((document) => {
    for (const error of document.errors) problems.push(`${path}: YAML: ${error.message}`);
    return document.errors.length > 0 ? [] : [document.toJS() as unknown];
  });
}

/**
 * Every problem in the manifests: the Kubernetes API's schemas (kubernetes-models), then this
 * project's rules. `repositoryRoot` is where the migration's source and README.md are.
 */
export function checkManifests(objects: KubernetesObject[], repositoryRoot: string): string[] {
  const problems: string[] = [];
  for (const object of objects) problems.push(...checkSchema(object));
  if (problems.length > 0) return problems;

  const deployments = objects.filter((o): o is KubernetesObject & IDeployment =>
    isKind(o, 'apps/v1', 'Deployment'),
  );
  const jobs = objects.filter((o): o is KubernetesObject & IJob => isKind(o, 'batch/v1', 'Job'));
  const documented = documentedVariables(join(repositoryRoot, 'README.md'));

  for (const deployment of deployments) {
    problems.push(...checkDeployment(deployment, objects, documented));
  }
  for (const job of jobs) problems.push(...checkMigrationJob(job, objects, repositoryRoot));
  if (jobs.length !== 1) problems.push(`expected one migration Job, found ${jobs.length}`);
  for (const object of [...deployments, ...jobs]) {
    problems.push(...checkPodSecurity(object));
  }
  problems.push(...checkImages([...deployments, ...jobs]));
  return problems;
}

function checkSchema(object: KubernetesObject): string[] {
  const where = describe(object);
  const Model = MODELS[`${String(object.apiVersion)}/${String(object.kind)}`];
  if (!Model)
    return [`${where}: ${String(object.apiVersion)} ${String(object.kind)} is not checked here`];
  if (!object.metadata?.name) return [`${where}: has no metadata.name`];
  try {
    new Model(object as never).validate();
    return [];
  } catch (error) {
    return [`${where}: schema: ${(error as Error).message}`];
  }
}

function checkDeployment(
  deployment: IDeployment,
  objects: KubernetesObject[],
  documented: Map<string, Set<string>>,
): string[] {
  const problems: string[] = [];
  const where = describe(deployment);
  const spec = deployment.spec;
  const template = spec?.template;
  const podLabels = template?.metadata?.labels ?? {};
  if (!spec || !template) return [`${where}: has no pod template`];
  if (!matches(spec.selector.matchLabels, podLabels)) {
    problems.push(`${where}: its selector does not match its pod labels`);
  }
  const namespace = deployment.metadata?.namespace;
  const sameNamespace = objects.filter((o) => o.metadata?.namespace === namespace);

  const hpas = sameNamespace.filter((o) => {
    const target = (o.spec as { scaleTargetRef?: { kind?: string; name?: string } } | undefined)
      ?.scaleTargetRef;
    return (
      o.kind === 'HorizontalPodAutoscaler' &&
      target?.kind === 'Deployment' &&
      target.name === deployment.metadata?.name
    );
  });
  if (hpas.length !== 1)
    problems.push(`${where}: ${hpas.length} HorizontalPodAutoscalers target it, expected 1`);
  const minReplicas = (hpas[0]?.spec as { minReplicas?: number } | undefined)?.minReplicas ?? 1;

  const pdbs = sameNamespace.filter(
    (o) =>
      o.kind === 'PodDisruptionBudget' &&
      matches(
        (o.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels,
        podLabels,
      ),
  );
  if (pdbs.length === 0) problems.push(`${where}: no PodDisruptionBudget selects its pods`);
  for (const pdb of pdbs) {
    const minAvailable = (pdb.spec as { minAvailable?: number | string }).minAvailable;
    if (typeof minAvailable === 'number' && minAvailable >= minReplicas) {
      problems.push(
        `${describe(pdb)}: minAvailable ${minAvailable} with ${minReplicas} replicas blocks every node drain`,
      );
    }
  }

  const services = sameNamespace.filter(
    (o) =>
      o.kind === 'Service' &&
      matches((o.spec as { selector?: Record<string, string> }).selector, podLabels),
  );
  if (services.length === 0) problems.push(`${where}: no Service selects its pods`);

  for (const container of template.spec?.containers ?? []) {
    const at = `${where} container ${container.name}`;
    const kind = serviceKindOf(container);
    if (!kind) {
      problems.push(`${at}: image ${String(container.image)} is neither service`);
      continue;
    }
    problems.push(...checkProbes(at, container));
    problems.push(...checkResources(at, container));
    const environment = resolveEnvironment(at, container, sameNamespace);
    problems.push(...environment.problems);
    problems.push(...checkServiceEnvironment(at, kind, container, environment.values, documented));
    for (const service of services) {
      for (const port of (
        service.spec as { ports?: { port: number; targetPort?: number | string }[] }
      ).ports ?? []) {
        if (!containerPort(container, port.targetPort ?? port.port)) {
          problems.push(
            `${describe(service)}: targetPort ${String(port.targetPort)} is no port of ${at}`,
          );
        }
      }
    }
    if (kind === 'query') problems.push(...checkCommandServiceUrl(at, environment.values, objects));
  }
  return problems;
}

function checkProbes(at: string, container: IContainer): string[] {
  const problems: string[] = [];
  const expected = { readinessProbe: '/health/ready', livenessProbe: '/health/live' } as const;
  for (const [probe, path] of Object.entries(expected) as [keyof typeof expected, string][]) {
    const httpGet = container[probe]?.httpGet;
    if (!httpGet) {
      problems.push(`${at}: has no ${probe} (GET ${path})`);
      continue;
    }
    if (httpGet.path !== path)
      problems.push(`${at}: ${probe} asks ${String(httpGet.path)}, not ${path}`);
    if (!containerPort(container, httpGet.port)) {
      problems.push(`${at}: ${probe} port ${String(httpGet.port)} is not a container port`);
    }
  }
  return problems;
}

function checkResources(at: string, container: IContainer): string[] {
  const { requests = {}, limits = {} } = container.resources ?? {};
  const missing = [
    ...['cpu', 'memory'].filter((name) => requests[name] === undefined).map((n) => `requests.${n}`),
    ...['memory'].filter((name) => limits[name] === undefined).map((n) => `limits.${n}`),
  ];
  return missing.length > 0 ? [`${at}: no resources ${missing.join(', ')}`] : [];
}

function checkServiceEnvironment(
  at: string,
  kind: ServiceKind,
  container: IContainer,
  values: Record<string, string>,
  documented: Map<string, Set<string>>,
): string[] {
  const problems: string[] = [];
  for (const name of REQUIRED_VARIABLES[kind]) {
    if (values[name] === undefined) problems.push(`${at}: ${name} is not set`);
  }
  for (const name of Object.keys(values)) {
    if (!documented.get(kind)?.has(name)) {
      problems.push(`${at}: ${name} is not a ${kind} service variable in README.md's table`);
    }
  }
  try {
    if (kind === 'command') {
      const config = loadCommandServiceConfig(values);
      if (config.MIGRATIONS_AT_START) {
        problems.push(`${at}: MIGRATIONS_AT_START must be false: the Job migrates`);
      }
      if (config.NODE_ENV !== 'production') problems.push(`${at}: NODE_ENV is not production`);
      if (!containerPort(container, config.PORT)) {
        problems.push(`${at}: PORT ${config.PORT} is not a container port`);
      }
    } else {
      const config = loadQueryServiceConfig({}, values);
      if (values.NODE_ENV !== 'production') problems.push(`${at}: NODE_ENV is not production`);
      if (!containerPort(container, config.port)) {
        problems.push(`${at}: PORT ${config.port} is not a container port`);
      }
    }
  } catch (error) {
    problems.push(`${at}: the service would refuse this environment: ${(error as Error).message}`);
  }
  return problems;
}

/** The query service's rebuild reads the command service's feed through its Service. */
function checkCommandServiceUrl(
  at: string,
  values: Record<string, string>,
  objects: KubernetesObject[],
): string[] {
  const url = values.COMMAND_SERVICE_URL;
  if (url === undefined) return [];
  const { hostname, port } = new URL(url);
  const service = objects.find(
    (o) => o.kind === 'Service' && o.metadata?.name === hostname.split('.')[0],
  );
  const ports = (service?.spec as { ports?: { port: number }[] } | undefined)?.ports ?? [];
  if (!service || !ports.some((candidate) => String(candidate.port) === (port || '80'))) {
    return [`${at}: COMMAND_SERVICE_URL ${url} names no Service port`];
  }
  return [];
}

function checkMigrationJob(job: IJob, objects: KubernetesObject[], root: string): string[] {
  const problems: string[] = [];
  const where = describe(job);
  const template = job.spec?.template;
  const containers = template?.spec?.containers ?? [];
  if (template?.spec?.restartPolicy === 'Always') problems.push(`${where}: restartPolicy Always`);
  if (job.spec?.backoffLimit === undefined) problems.push(`${where}: no backoffLimit`);
  if (containers.length !== 1) return [...problems, `${where}: expected one container`];
  const container = containers[0]!;
  const command = [...(container.command ?? []), ...(container.args ?? [])];
  if (command[0] !== 'node' || command[1] !== MIGRATION_ENTRY) {
    problems.push(`${where}: runs '${command.join(' ')}', not 'node ${MIGRATION_ENTRY}'`);
  }
  if (!existsSync(join(root, MIGRATION_SOURCE))) {
    problems.push(`${where}: the migration's source ${MIGRATION_SOURCE} does not exist`);
  }
  if (serviceKindOf(container) !== 'command') {
    problems.push(`${where}: image ${String(container.image)} is not the command service's`);
  }
  problems.push(...checkResources(`${where} container ${container.name}`, container));
  const sameNamespace = objects.filter((o) => o.metadata?.namespace === job.metadata?.namespace);
  const environment = resolveEnvironment(where, container, sameNamespace);
  problems.push(...environment.problems);
  for (const name of REQUIRED_VARIABLES.migration) {
    if (environment.values[name] === undefined) problems.push(`${where}: ${name} is not set`);
  }
  try {
    loadMigrationConfig(environment.values);
  } catch (error) {
    problems.push(
      `${where}: the migration would refuse this environment: ${(error as Error).message}`,
    );
  }
  // The schema the command replicas check must be the one the Job migrated.
  for (const deployment of sameNamespace.filter((o) => o.kind === 'Deployment') as IDeployment[]) {
    for (const other of deployment.spec?.template.spec?.containers ?? []) {
      if (serviceKindOf(other) !== 'command') continue;
      const values = resolveEnvironment(where, other, sameNamespace).values;
      if (values.DATABASE_URL !== environment.values.DATABASE_URL) {
        problems.push(`${where}: DATABASE_URL differs from ${describe(deployment)}'s`);
      }
    }
  }
  return problems;
}

/** The restricted Pod Security Standard, which the namespace enforces. */
function checkPodSecurity(object: IDeployment | IJob): string[] {
  const problems: string[] = [];
  const where = describe(object);
  const pod = object.spec?.template.spec;
  const podContext = pod?.securityContext ?? {};
  for (const container of pod?.containers ?? []) {
    const at = `${where} container ${container.name}`;
    const context = container.securityContext ?? {};
    if (!(context.runAsNonRoot ?? podContext.runAsNonRoot))
      problems.push(`${at}: runAsNonRoot is not true`);
    if ((context.runAsUser ?? podContext.runAsUser) === 0) problems.push(`${at}: runs as uid 0`);
    const seccomp = context.seccompProfile?.type ?? podContext.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') {
      problems.push(`${at}: seccompProfile is not RuntimeDefault`);
    }
    if (context.allowPrivilegeEscalation !== false) {
      problems.push(`${at}: allowPrivilegeEscalation is not false`);
    }
    if (context.privileged) problems.push(`${at}: is privileged`);
    if (!context.capabilities?.drop?.includes('ALL'))
      problems.push(`${at}: does not drop ALL capabilities`);
    if (context.readOnlyRootFilesystem !== true)
      problems.push(`${at}: root filesystem is writable`);
  }
  return problems;
}

/** One release: every image of ours pinned, to the same version. */
function checkImages(objects: (IDeployment | IJob)[]): string[] {
  const problems: string[] = [];
  const versions = new Set<string>();
  for (const object of objects) {
    for (const container of object.spec?.template.spec?.containers ?? []) {
      const image = container.image ?? '';
      const version = image.split('@')[1] ?? imageTag(image);
      if (!version || version === 'latest') {
        problems.push(
          `${describe(object)} container ${container.name}: image ${image} is not pinned`,
        );
      } else if (serviceKindOf(container)) versions.add(version);
    }
  }
  if (versions.size > 1)
    problems.push(`the services' images differ in version: ${[...versions].join(', ')}`);
  return problems;
}

/** A container's environment as the kubelet would assemble it from ConfigMaps and Secrets. */
function resolveEnvironment(
  at: string,
  container: IContainer,
  objects: KubernetesObject[],
): { values: Record<string, string>; problems: string[] } {
  const values: Record<string, string> = {};
  const problems: string[] = [];
  const find = (kind: 'ConfigMap' | 'Secret', name: string) => {
    const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
    if (!found) problems.push(`${at}: ${kind} ${name} does not exist`);
    return found ? dataOf(found) : {};
  };
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef)
      Object.assign(values, find('ConfigMap', source.configMapRef.name ?? ''));
    if (source.secretRef) Object.assign(values, find('Secret', source.secretRef.name ?? ''));
  }
  for (const variable of container.env ?? []) {
    const configMapKey = variable.valueFrom?.configMapKeyRef;
    const secretKey = variable.valueFrom?.secretKeyRef;
    const reference = configMapKey
      ? { kind: 'ConfigMap' as const, ...configMapKey }
      : secretKey
        ? { kind: 'Secret' as const, ...secretKey }
        : undefined;
    if (!reference) {
      if (variable.value !== undefined) values[variable.name] = variable.value;
      continue;
    }
    const value = find(reference.kind, reference.name ?? '')[reference.key];
    if (value === undefined) problems.push(`${at}: ${reference.kind} key ${reference.key} missing`);
    else values[variable.name] = value;
  }
  return { values, problems };
}

function dataOf(object: KubernetesObject): Record<string, string> {
  const decoded = Object.entries((object.data as Record<string, string> | undefined) ?? {}).map(
    ([key, value]) =>
      [
        key,
        object.kind === 'Secret' ? Buffer.from(value, 'base64').toString('utf8') : value,
      ] as const,
  );
  return {
    ...Object.fromEntries(decoded),
    ...((object.stringData as Record<string, string> | undefined) ?? {}),
  };
}

/** README.md's configuration table: variable -> the services that read it. */
export function documentedVariables(readme: string): Map<string, Set<string>> {
  const byService = new Map<string, Set<string>>([
    ['command', new Set()],
    ['query', new Set()],
  ]);
  for (const line of readFileSync(readme, 'utf8').split('\n')) {
    const row = /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|\s*(command|query|both)\s*\|/.exec(line);
    if (!row) continue;
    const [, name, service] = row as unknown as [string, string, string];
    for (const kind of service === 'both' ? ['command', 'query'] : [service]) {
      byService.get(kind)?.add(name);
    }
  }
  return byService;
}

function serviceKindOf(container: IContainer): ServiceKind | undefined {
  const name = imageName(container.image ?? '');
  if (name.endsWith('orders-cqrs/command-service')) return 'command';
  if (name.endsWith('orders-cqrs/query-service')) return 'query';
  return undefined;
}

function podTemplatesOf(object: KubernetesObject): IPodTemplateSpec[] {
  const template = (object.spec as { template?: IPodTemplateSpec } | undefined)?.template;
  return template ? [template] : [];
}

function containersOf(template: IPodTemplateSpec): IContainer[] {
  return [...(template.spec?.initContainers ?? []), ...(template.spec?.containers ?? [])];
}

function containerPort(container: IContainer, port: number | string | undefined): boolean {
  return (container.ports ?? []).some(
    (candidate) => candidate.name === port || candidate.containerPort === Number(port),
  );
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string>) {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}

function imageName(image: string): string {
  const withoutDigest = image.split('@')[0] ?? '';
  const colon = withoutDigest.indexOf(':', withoutDigest.lastIndexOf('/') + 1);
  return colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
}

function imageTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0] ?? '';
  const colon = withoutDigest.indexOf(':', withoutDigest.lastIndexOf('/') + 1);
  return colon === -1 ? undefined : withoutDigest.slice(colon + 1);
}

function isKind(object: KubernetesObject, apiVersion: string, kind: string): boolean {
  return object.apiVersion === apiVersion && object.kind === kind;
}

function describe(object: { kind?: unknown; metadata?: { name?: string } }): string {
  return `${String(object.kind)} ${object.metadata?.name ?? '(unnamed)'}`;
}
