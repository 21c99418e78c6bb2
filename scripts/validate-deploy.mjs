#!/usr/bin/env node
// Checks the deployment without a Docker engine: docker-compose.yml against the Compose
// specification's JSON schema (vendored in deploy/schemas/, see deploy/README.md), then this
// project's own rules, then a light lint of every Dockerfile the compose file builds.
//
//   node scripts/validate-deploy.mjs [path/to/docker-compose.yml] [--project-directory DIR]
//
// Exits 1 listing every problem found.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parseDocument } from 'yaml';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const schemaFile = path.join(repoRoot, 'deploy/schemas/compose-spec.json');
const [fileArgument, projectDirectory] = parseArguments(process.argv.slice(2));
const composeFile = path.resolve(fileArgument ?? path.join(repoRoot, 'docker-compose.yml'));
// Relative paths in the file are resolved from here, as `docker compose --project-directory`.
const composeDir = path.resolve(projectDirectory ?? path.dirname(composeFile));
// The one-shot migration's entry point in the command-service image (Dockerfile layout).
const MIGRATION_ENTRY = 'dist/apps/command-service/apps/command-service/src/database/migrate.js';

const problems = [];
const warnings = [];
const dockerfilesLinted = new Map();
const fail = (where, message) => {
  const problem = `${where}: ${message}`;
  if (!problems.includes(problem)) problems.push(problem);
};
const relative = (file) => path.relative(process.cwd(), file) || file;

main();

function main() {
  const compose = loadCompose(composeFile);
  if (compose) {
    validateAgainstSchema(compose);
    checkProjectRules(compose);
  }
  lintUnreferencedDockerfiles();

  for (const warning of warnings) console.warn(`warning: ${warning}`);
  if (problems.length > 0) {
    console.error(`validate-deploy: ${problems.length} problem(s) in ${relative(composeFile)}:`);
    for (const problem of problems) console.error(`  - ${problem}`);
    process.exit(1);
  }
  console.log(
    `validate-deploy: ${relative(composeFile)} is valid against the Compose schema and follows ` +
      `the project rules (${Object.keys(compose.services ?? {}).length} services, ` +
      `${dockerfilesLinted.size} Dockerfile(s) linted).`,
  );
}

function parseArguments(args) {
  const at = args.indexOf('--project-directory');
  const directory = at === -1 ? undefined : args[at + 1];
  const rest = at === -1 ? args : args.filter((_, index) => index !== at && index !== at + 1);
  return [rest[0], directory];
}

function loadCompose(file) {
  if (!existsSync(file)) {
    fail(relative(file), 'does not exist');
    return undefined;
  }
  // Compose accepts YAML merge keys (`<<: *anchor`); YAML 1.2 needs them switched on.
  const document = parseDocument(readFileSync(file, 'utf8'), { merge: true, prettyErrors: true });
  for (const error of document.errors) {
    fail(relative(file), `YAML: ${error.message.split('\n')[0]}`);
  }
  if (document.errors.length > 0) return undefined;
  const content = document.toJS({ maxAliasCount: 100 });
  if (!content || typeof content !== 'object' || Array.isArray(content)) {
    fail(relative(file), 'is not a YAML mapping');
    return undefined;
  }
  return interpolate(content, relative(file));
}

// Compose substitutes ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}
// and $VAR from the environment before it validates; `$$` stands for a literal `$`.
function interpolate(value, where) {
  if (typeof value === 'string') {
    return value.replace(
      /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
      (match, dollar, braced, operator, argument, bare) => {
        if (dollar) return '$';
        const name = braced ?? bare;
        const current = process.env[name];
        const unset = operator?.startsWith(':') ? !current : current === undefined;
        if (!unset) return current;
        if (operator?.endsWith('-')) return argument;
        if (operator?.endsWith('?')) {
          fail(where, `required variable ${name} is not set (${argument || 'no message'})`);
          return '';
        }
        warnings.push(`${where}: ${name} is not set and has no default; using ""`);
        return '';
      },
    );
  }
  if (Array.isArray(value)) return value.map((item) => interpolate(item, where));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolate(item, where)]),
    );
  }
  return value;
}

function validateAgainstSchema(document) {
  // The upstream schema mixes union types and untyped additionalProperties, which only
  // Ajv's strictTypes objects to; unknown keywords and formats stay errors.
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false });
  addFormats(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')));
  if (validate(document)) return;
  for (const error of validate.errors ?? []) {
    const at = error.instancePath || '(top level)';
    const detail = error.params?.additionalProperty
      ? ` '${error.params.additionalProperty}'`
      : error.params?.allowedValues
        ? ` ${JSON.stringify(error.params.allowedValues)}`
        : '';
    fail(`schema ${at}`, `${error.message}${detail}`);
  }
}

function checkProjectRules(document) {
  const services = document.services ?? {};
  if (Object.keys(services).length === 0) fail('services', 'none defined');
  const isApp = (name) => services[name]?.build !== undefined;
  const infra = Object.keys(services).filter((name) => !isApp(name));
  const oneShots = oneShotServices(services);

  for (const [name, service] of Object.entries(services)) {
    const where = `services.${name}`;
    if (oneShots.has(name)) checkOneShot(where, service);
    else checkHealthcheck(where, service.healthcheck);
    if (service.image !== undefined) checkImageTag(`${where}.image`, service.image);
    checkBindMounts(where, service.volumes ?? []);
    if (!isApp(name)) continue;

    checkDependsOn(where, service, infra);
    if (isRootUser(service.user)) fail(`${where}.user`, `runs as root ('${service.user}')`);
    checkDockerfileTarget(where, service.build);
    if (!oneShots.has(name)) checkScalable(where, service);
  }
  checkCredentials(services);
  checkMigrations(services, oneShots);
}

// A service that others wait for with service_completed_successfully runs once and exits.
function oneShotServices(services) {
  const oneShots = new Set();
  for (const service of Object.values(services)) {
    const dependsOn = Array.isArray(service.depends_on) ? {} : (service.depends_on ?? {});
    for (const [name, dependency] of Object.entries(dependsOn)) {
      if (dependency?.condition === 'service_completed_successfully') oneShots.add(name);
    }
  }
  return oneShots;
}

function checkOneShot(where, service) {
  const restart = service.restart ?? 'no';
  if (restart !== 'no' && !String(restart).startsWith('on-failure')) {
    fail(`${where}.restart`, `is '${restart}': a one-shot that exits 0 would be started again`);
  }
  if ((service.ports ?? []).length > 0) fail(`${where}.ports`, 'a one-shot publishes no ports');
}

// `docker compose up --scale NAME=N` needs replicas that can coexist on one host.
function checkScalable(where, service) {
  if (service.container_name !== undefined) {
    fail(`${where}.container_name`, 'a fixed container name allows only one replica');
  }
  for (const port of service.ports ?? []) {
    const published =
      typeof port === 'object' ? port.published : String(port).split(':').slice(-2, -1)[0];
    if (published !== undefined && /^[0-9]+$/.test(String(published))) {
      fail(
        `${where}.ports`,
        `publishes the fixed host port ${published}, so a second replica cannot start: ` +
          'put the service behind the proxy (or publish a range)',
      );
    }
  }
}

// Replicas that skip migrations at start must wait for the one-shot migration, which runs the
// same image's migration entry point against the same database.
function checkMigrations(services, oneShots) {
  const source = path.join(
    composeDir,
    MIGRATION_ENTRY.replace(/^dist\/apps\/[^/]+\//, '').replace(/\.js$/, '.ts'),
  );
  for (const [name, service] of Object.entries(services)) {
    if (service.build === undefined) continue;
    const environment = environmentOf(service);
    if (environment.MIGRATIONS_AT_START !== 'false') continue;
    const where = `services.${name}`;
    const dependsOn = Array.isArray(service.depends_on) ? {} : (service.depends_on ?? {});
    const migrators = Object.keys(dependsOn).filter(
      (dependency) =>
        oneShots.has(dependency) &&
        dependsOn[dependency].condition === 'service_completed_successfully' &&
        [services[dependency]?.command ?? []].flat().join(' ').includes(MIGRATION_ENTRY),
    );
    if (migrators.length === 0) {
      fail(
        `${where}.depends_on`,
        'sets MIGRATIONS_AT_START=false but waits for no one-shot service running ' +
          `${MIGRATION_ENTRY} (condition: service_completed_successfully)`,
      );
    }
    for (const migrator of migrators) {
      if (services[migrator].image !== service.image) {
        fail(`services.${migrator}.image`, `differs from ${name}'s: migrate with the same build`);
      }
      if (environmentOf(services[migrator]).DATABASE_URL !== environment.DATABASE_URL) {
        fail(`services.${migrator}.environment.DATABASE_URL`, `differs from ${name}'s`);
      }
      if (!existsSync(source)) {
        fail(`services.${migrator}.command`, `${relative(source)} (its source) does not exist`);
      }
    }
  }
}

function environmentOf(service) {
  const environment = service.environment ?? {};
  if (!Array.isArray(environment)) {
    return Object.fromEntries(
      Object.entries(environment).map(([key, value]) => [key, value == null ? '' : String(value)]),
    );
  }
  return Object.fromEntries(
    environment.map((entry) => {
      const [key, ...value] = String(entry).split('=');
      return [key, value.join('=')];
    }),
  );
}

function checkHealthcheck(where, healthcheck) {
  if (!healthcheck) return fail(where, 'has no healthcheck');
  const test = [healthcheck.test].flat();
  if (healthcheck.disable === true || test[0] === 'NONE' || test.length === 0) {
    fail(`${where}.healthcheck`, 'is disabled or has no test');
  }
}

function checkImageTag(where, reference) {
  const { tag, digest } = parseImageReference(reference);
  if (digest) return;
  if (!tag) fail(where, `'${reference}' has no tag, which means latest: pin a version`);
  else if (tag === 'latest') fail(where, `'${reference}' uses the latest tag: pin a version`);
}

function parseImageReference(reference) {
  const [withoutDigest, digest] = reference.split('@');
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  return { tag: colon === -1 ? undefined : withoutDigest.slice(colon + 1), digest };
}

function checkBindMounts(where, volumes) {
  for (const volume of volumes) {
    const source = typeof volume === 'string' ? volume.split(':')[0] : volume.source;
    const isBind =
      typeof volume === 'string' ? /^\.{0,2}\//.test(source ?? '') : volume.type === 'bind';
    if (isBind && source && !existsSync(path.resolve(composeDir, source))) {
      fail(`${where}.volumes`, `bind-mount source '${source}' does not exist`);
    }
  }
}

// An app must wait for the infrastructure it talks to: every infra service it depends on,
// and every infra host named in its environment, needs condition: service_healthy.
function checkDependsOn(where, service, infra) {
  const dependsOn = service.depends_on ?? {};
  if (Array.isArray(dependsOn)) {
    return fail(`${where}.depends_on`, 'use the long form with condition: service_healthy');
  }
  const needed = new Set(Object.keys(dependsOn).filter((name) => infra.includes(name)));
  for (const url of urlsIn(service.environment)) {
    if (infra.includes(url.hostname)) needed.add(url.hostname);
  }
  for (const name of needed) {
    const condition = dependsOn[name]?.condition;
    if (condition !== 'service_healthy') {
      fail(
        `${where}.depends_on.${name}`,
        condition
          ? `condition is '${condition}', expected service_healthy`
          : `missing (the service talks to ${name}); add it with condition: service_healthy`,
      );
    }
  }
  if (needed.size === 0) fail(`${where}.depends_on`, 'depends on no infrastructure service');
}

function urlsIn(environment) {
  const values = Array.isArray(environment)
    ? environment.map((entry) => String(entry).split('=').slice(1).join('='))
    : Object.values(environment ?? {}).map(String);
  return values.flatMap((value) => {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return [];
    try {
      return [new URL(value)];
    } catch {
      return [];
    }
  });
}

// Each service signs in with its own user (spec §7), never RabbitMQ's guest, and the
// passwords it is given are the ones the infrastructure is seeded with.
function checkCredentials(services) {
  const owners = new Map();
  for (const [name, service] of Object.entries(services)) {
    if (service.build === undefined) continue;
    for (const url of urlsIn(service.environment)) {
      const host = services[url.hostname];
      if (!host || host.build !== undefined) continue;
      const user = decodeURIComponent(url.username);
      const where = `services.${name}.environment (${url.protocol}//${url.hostname})`;
      if (!user) {
        fail(where, 'connects without a user');
        continue;
      }
      if (user === 'guest') fail(where, "uses RabbitMQ's guest user");
      // Services built as the same image (a service and its one-shot migration) are one
      // service for credentials.
      const key = `${url.hostname}/${user}`;
      const owner = owners.get(key);
      if (owner && owner.name !== name && owner.image !== (service.image ?? name)) {
        fail(where, `shares user '${user}' with ${owner.name}`);
      }
      if (!owner) owners.set(key, { name, image: service.image ?? name });
      if (url.protocol.startsWith('amqp')) checkRabbitmqUser(where, host, url);
    }
  }
}

function checkRabbitmqUser(where, broker, url) {
  const mount = (broker.volumes ?? [])
    .map((volume) =>
      typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target],
    )
    .find(([, target]) => target === '/etc/rabbitmq/definitions.json');
  if (!mount) return;
  const definitions = JSON.parse(readFileSync(path.resolve(composeDir, mount[0]), 'utf8'));
  const user = decodeURIComponent(url.username);
  const vhost = decodeURIComponent(url.pathname.slice(1)) || '/';
  const seeded = definitions.users?.find((candidate) => candidate.name === user);
  if (!seeded) return fail(where, `RabbitMQ user '${user}' is not in ${mount[0]}`);
  if (!rabbitmqPasswordMatches(seeded, decodeURIComponent(url.password))) {
    fail(where, `password of RabbitMQ user '${user}' does not match its hash in ${mount[0]}`);
  }
  if (!definitions.vhosts?.some((candidate) => candidate.name === vhost)) {
    fail(where, `vhost '${vhost}' is not in ${mount[0]}`);
  }
  if (!definitions.permissions?.some((p) => p.user === user && p.vhost === vhost)) {
    fail(where, `RabbitMQ user '${user}' has no permissions on vhost '${vhost}'`);
  }
}

// rabbit_password_hashing_sha256: base64(salt[4] ++ sha256(salt[4] ++ password)).
function rabbitmqPasswordMatches(user, password) {
  if (user.hashing_algorithm !== 'rabbit_password_hashing_sha256') return true;
  const stored = Buffer.from(user.password_hash ?? '', 'base64');
  const salt = stored.subarray(0, 4);
  const hash = createHash('sha256')
    .update(Buffer.concat([salt, Buffer.from(password)]))
    .digest();
  return stored.length === 36 && hash.equals(stored.subarray(4));
}

function checkDockerfileTarget(where, build) {
  const spec = typeof build === 'string' ? { context: build } : build;
  const context = path.resolve(composeDir, spec.context ?? '.');
  const file = path.resolve(context, spec.dockerfile ?? 'Dockerfile');
  const stages = spec.dockerfile_inline
    ? lintDockerfile(`${where}.build.dockerfile_inline`, spec.dockerfile_inline)
    : lintDockerfileAt(file);
  if (!stages || stages.length === 0) return;
  const target = spec.target
    ? stages.find((stage) => stage.name === spec.target)
    : stages[stages.length - 1];
  if (!target) return fail(`${where}.build.target`, `no stage '${spec.target}' in the Dockerfile`);
  const user = effectiveUser(target);
  const label = `${where}: stage '${target.name ?? target.image}'`;
  if (user === undefined) fail(label, 'sets no USER, so it runs as root');
  else if (isRootUser(user)) fail(label, `runs as root (USER ${user})`);
}

function lintDockerfileAt(file) {
  if (!existsSync(file)) {
    fail(relative(file), 'does not exist');
    return undefined;
  }
  if (!dockerfilesLinted.has(file)) {
    dockerfilesLinted.set(file, lintDockerfile(relative(file), readFileSync(file, 'utf8')));
  }
  return dockerfilesLinted.get(file);
}

// A light lint: FROM first, pinned base images, a USER, no ADD from URLs, exec-form CMD.
function lintDockerfile(where, text) {
  const instructions = dockerInstructions(text);
  const globalArgs = new Map();
  const stages = [];
  for (const { keyword, args, line } of instructions) {
    const at = `${where}:${line}`;
    const stage = stages[stages.length - 1];
    if (keyword === 'ARG' && !stage) {
      const [name, ...value] = args.split('=');
      globalArgs.set(name.trim(), value.join('=').trim());
    } else if (keyword === 'FROM') {
      const words = args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const image = words[0]?.replace(
        /\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g,
        (_, name) => globalArgs.get(name) ?? '',
      );
      const name = words[1]?.toUpperCase() === 'AS' ? words[2] : undefined;
      const fromStage = stages.find((previous) => previous.name === image);
      if (!image) fail(at, 'FROM names no image');
      else if (!fromStage && image !== 'scratch') checkImageTag(at, image);
      stages.push({ name, image, fromStage, user: undefined, cmd: undefined });
    } else if (!stage) {
      fail(at, `${keyword} before the first FROM`);
    } else if (keyword === 'USER') {
      stage.user = args.trim();
    } else if (keyword === 'ADD' && /(^|\s)(https?:\/\/|git@|[a-z]+:\/\/)/i.test(args)) {
      fail(at, 'ADD from a URL: download in a RUN step with a checksum, or COPY');
    } else if (keyword === 'CMD' || keyword === 'ENTRYPOINT') {
      stage.cmd = args.trim();
      if (!args.trim().startsWith('[')) {
        fail(at, `${keyword} in shell form: use exec form so SIGTERM reaches the process`);
      }
    }
  }
  if (stages.length === 0) fail(where, 'has no FROM');
  if (!stages.some((stage) => stage.user !== undefined)) fail(where, 'has no USER instruction');
  return stages;
}

function dockerInstructions(text) {
  const instructions = [];
  let pending = '';
  let startLine = 0;
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#') || (trimmed === '' && pending === '')) return;
    if (pending === '') startLine = index + 1;
    if (trimmed.endsWith('\\')) {
      pending += `${trimmed.slice(0, -1)} `;
      return;
    }
    const full = (pending + trimmed).trim();
    pending = '';
    const match = /^(\S+)\s*(.*)$/s.exec(full);
    if (match)
      instructions.push({ keyword: match[1].toUpperCase(), args: match[2], line: startLine });
  });
  return instructions;
}

function effectiveUser(stage) {
  for (let current = stage; current; current = current.fromStage) {
    if (current.user !== undefined) return current.user;
  }
  return undefined;
}

function isRootUser(user) {
  if (user === undefined || user === null) return false;
  const name = String(user).split(':')[0].trim();
  return name === 'root' || name === '0';
}

// Dockerfiles in the usual places that no service builds still get linted.
function lintUnreferencedDockerfiles() {
  const appsDir = path.join(composeDir, 'apps');
  const apps = existsSync(appsDir) ? readdirSync(appsDir) : [];
  for (const candidate of [
    path.join(composeDir, 'Dockerfile'),
    ...apps.map((app) => path.join(appsDir, app, 'Dockerfile')),
  ]) {
    if (existsSync(candidate)) lintDockerfileAt(candidate);
  }
}
