import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { sh, type RunResult, type StepResult } from '../../scripts/harness.js'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Temp dirs of the e2e tests live here (git-ignored), so a failed run can be inspected. */
export const e2eTmp = path.join(repoRoot, '.e2e-tmp')

export interface Toolchain {
  /** host:port of the registry with htpasswd basic auth. */
  registry: string
  user: string
  password: string
  /** host:port of the registry without auth. */
  registryNoAuth: string
  /** An image for linux/amd64, linux/arm64 and linux/arm/v7 that BuildKit can pull. */
  baseImage: string
}

/**
 * The engine, registry and base image come from the environment (CTR_*, DOCKER_HOST, PATH),
 * which the e2e run gets by sourcing the toolchain's env.sh before jest starts.
 */
export function requireToolchain(): Toolchain {
  const env = process.env
  const missing = ['CTR_REGISTRY', 'CTR_REGISTRY_USER', 'CTR_REGISTRY_PASSWORD', 'CTR_BASE_IMAGE'].filter(n => !env[n])
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(', ')} not set: the e2e tests need a container toolchain. Run them from a shell ` +
        'that sourced the toolchain env.sh (it sets PATH, DOCKER_HOST and CTR_*), or set CTR_REGISTRY, ' +
        'CTR_REGISTRY_USER, CTR_REGISTRY_PASSWORD, CTR_REGISTRY_NOAUTH and CTR_BASE_IMAGE for your own engine and registry.'
    )
  }
  return {
    registry: env.CTR_REGISTRY!,
    user: env.CTR_REGISTRY_USER!,
    password: env.CTR_REGISTRY_PASSWORD!,
    registryNoAuth: env.CTR_REGISTRY_NOAUTH ?? '',
    baseImage: env.CTR_BASE_IMAGE!
  }
}

export function tempDir(prefix: string): string {
  mkdirSync(e2eTmp, { recursive: true })
  return mkdtempSync(path.join(e2eTmp, `${prefix}-`))
}

/** An empty Docker config dir, as a fresh runner job has. */
export function newDockerConfig(): string {
  return tempDir('docker-config')
}

interface DockerConfigFile {
  auths?: Record<string, unknown>
  credHelpers?: Record<string, string>
  credsStore?: string
}

function readDockerConfig(dir: string): DockerConfigFile {
  const file = path.join(dir, 'config.json')
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DockerConfigFile) : {}
}

/** Registries with stored credentials in `<dir>/config.json`, sorted. */
export function dockerConfigAuths(dir: string): string[] {
  return Object.keys(readDockerConfig(dir).auths ?? {}).sort()
}

export interface Builders {
  /** Builder names `docker buildx ls` knows under this DOCKER_CONFIG. */
  builders: string[]
  /** BuildKit containers of docker-container builders, daemon-wide. */
  containers: string[]
}

export async function builders(dockerConfigDir: string): Promise<Builders> {
  const env = { DOCKER_CONFIG: dockerConfigDir }
  const ls = await sh('docker', ['buildx', 'ls', '--format', 'json'], { env, allowFailure: true })
  const names = ls.exitCode === 0 ? parseBuildxLsJson(ls.stdout) : undefined
  const builderNames =
    names ?? parseBuildxLsPlain((await sh('docker', ['buildx', 'ls'], { env })).stdout)
  const ps = await sh('docker', ['ps', '-a', '--filter', 'name=buildx_buildkit_', '--format', '{{.Names}}'], { env })
  return {
    builders: builderNames,
    containers: ps.stdout.split('\n').map(s => s.trim()).filter(Boolean).sort()
  }
}

/**
 * `buildx ls --format json` (buildx >= 0.13) prints one JSON object per line; 0.13.1
 * repeats each builder, and a `{{.Name}}` template would mix in node names.
 */
export function parseBuildxLsJson(stdout: string): string[] | undefined {
  const names = new Set<string>()
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue
    try {
      const parsed = JSON.parse(line) as { Name?: unknown }
      if (typeof parsed.Name !== 'string') return undefined
      names.add(parsed.Name)
    } catch {
      return undefined
    }
  }
  return [...names].sort()
}

/** Plain `buildx ls` of older buildx: builder rows start in column 0, node rows are indented. */
export function parseBuildxLsPlain(stdout: string): string[] {
  const names = new Set<string>()
  for (const line of stdout.split('\n').slice(1)) {
    if (!line || /^\s/.test(line)) continue
    const name = line.split(/\s+/)[0].replace(/\*$/, '')
    if (name) names.add(name)
  }
  return [...names].sort()
}

/** `e2e/<prefix>-<random>`: a repository no other run pushes to. */
export function uniqueRepo(prefix: string): string {
  return `e2e/${prefix.toLowerCase().replace(/[^a-z0-9._-]/g, '-')}-${randomBytes(4).toString('hex')}`
}

/**
 * A Dockerfile whose RUN step executes in the target platform, so emulation is really
 * exercised. The base defaults to CTR_BASE_IMAGE; a `BASE` build-arg can replace it.
 */
export function writeProject(dir: string, dockerfile?: string): string {
  mkdirSync(dir, { recursive: true })
  const base = requireToolchain().baseImage
  const text =
    dockerfile ??
    [`ARG BASE=${base}`, 'FROM ${BASE}', 'RUN uname -m > /arch && echo built', 'CMD ["cat", "/arch"]', ''].join('\n')
  writeFileSync(path.join(dir, 'Dockerfile'), text)
  return dir
}

export interface FakeDocker {
  /** Put first on PATH. */
  binDir: string
  /** argv of each call, in order. */
  calls(): string[][]
}

/** A `docker` that records its argv and fails: for proving that nothing reached docker. */
export function fakeDocker(dir: string): FakeDocker {
  const binDir = path.join(dir, 'fake-bin')
  mkdirSync(binDir, { recursive: true })
  const log = path.join(dir, 'fake-docker-calls.jsonl')
  writeFileSync(log, '')
  const script = [
    `#!${process.execPath}`,
    "import('node:fs').then(fs => {",
    `  fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(process.argv.slice(2)) + '\\n')`,
    "  process.stderr.write('fake docker: refusing ' + process.argv.slice(2).join(' ') + '\\n')",
    '  process.exit(1)',
    '})',
    ''
  ].join('\n')
  const bin = path.join(binDir, 'docker')
  // Extensionless files under a "type": "module" package are not run the same by every node.
  writeFileSync(path.join(binDir, 'package.json'), '{"type":"commonjs"}\n')
  writeFileSync(bin, script)
  chmodSync(bin, 0o755)
  return {
    binDir,
    calls: () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map(line => JSON.parse(line) as string[])
  }
}

/**
 * Throws unless none of the secrets occurs in either step's output, the outputs, state or
 * summary files. The `::add-mask::<secret>` command itself is allowed: the runner consumes
 * it instead of logging it, and it is how the secret gets masked.
 */
export function assertNoSecret(result: RunResult, ...secrets: string[]): void {
  const sources: Array<[string, string]> = [
    ['main stdout', result.main.stdout],
    ['main stderr', result.main.stderr],
    ['post stdout', result.post?.stdout ?? ''],
    ['post stderr', result.post?.stderr ?? '']
  ]
  const files: Array<[string, string | undefined]> = [
    ['outputs file', result.files.output],
    ['state file', result.files.state],
    ['summary file', result.files.summary],
    ['post outputs file', result.files.post?.output],
    ['post state file', result.files.post?.state],
    ['post summary file', result.files.post?.summary]
  ]
  for (const [name, file] of files) {
    if (file && existsSync(file)) sources.push([name, readFileSync(file, 'utf8')])
  }
  const hits: string[] = []
  secrets.forEach((secret, i) => {
    if (!secret) throw new Error(`assertNoSecret: secret #${i + 1} is empty`)
    for (const [name, text] of sources) {
      text.split('\n').forEach((line, n) => {
        if (line.replace(/\r$/, '') === `::add-mask::${secret}`) return
        if (line.includes(secret)) hits.push(`secret #${i + 1} in ${name} line ${n + 1}`)
      })
    }
  })
  if (hits.length > 0) throw new Error(`Secret leaked:\n${hits.join('\n')}`)
}

/** The last lines of a run's log, for failure messages. */
export function logTail(result: RunResult, lines = 60): string {
  return result.log.trimEnd().split('\n').slice(-lines).join('\n')
}

/**
 * buildx refuses two nodes with the same endpoint, so an appended node reaches the same
 * daemon under another address, as a second machine would have.
 */
export function secondAddress(addr: string): string {
  if (addr.startsWith('unix://')) {
    const link = path.join(tempDir('buildkitd-alias'), 'buildkitd.sock')
    symlinkSync(addr.slice('unix://'.length), link)
    return `unix://${link}`
  }
  const tcp = /^tcp:\/\/(127\.0\.0\.1|localhost)(:\d+)$/.exec(addr)
  if (tcp) return `tcp://${tcp[1] === 'localhost' ? '127.0.0.1' : 'localhost'}${tcp[2]}`
  throw new Error(`CTR_BUILDKITD_ADDR ${addr}: only a unix socket or a loopback tcp address can be given a second name`)
}

/** Fails with the step's log tail unless it exited with `code` on its own. */
export function expectExit(step: StepResult | undefined, code: number, r: RunResult, which: string): void {
  if (step?.exitCode !== code || step.timedOut) {
    throw new Error(
      `${which}: expected exit code ${code}, got ${step?.exitCode} (signal ${step?.signal}, timedOut ${step?.timedOut})\n` +
        `--- log tail ---\n${logTail(r)}`
    )
  }
}

export interface Annotation {
  properties: Record<string, string>
  message: string
}

/** `::warning ...::` / `::error ...::` lines, properties and message decoded as the runner shows them. */
export function annotations(r: RunResult, level: 'warning' | 'error'): Annotation[] {
  // Workflow commands escape %, CR and LF in the message, and ':' and ',' in properties too.
  const data = (s: string): string => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
  const property = (s: string): string => data(s.replace(/%3A/g, ':').replace(/%2C/g, ','))
  const found: Annotation[] = []
  for (const line of r.log.split('\n')) {
    const m = new RegExp(`^::${level}(?: ([^:]*))?::(.*)$`).exec(line)
    if (!m) continue
    const properties: Record<string, string> = {}
    for (const pair of (m[1] ?? '').split(',').filter(Boolean)) {
      const eq = pair.indexOf('=')
      properties[pair.slice(0, eq)] = property(pair.slice(eq + 1))
    }
    found.push({ properties, message: data(m[2]) })
  }
  return found
}

/** The messages of the `::error::` annotations. */
export function errorAnnotations(r: RunResult): string[] {
  return annotations(r, 'error').map(a => a.message)
}
