import * as core from '@actions/core'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { InputError } from './errors.js'
import { lines, listItems } from './lists.js'
import { checkAppendTarget, parseAppend, type AppendNode } from './append.js'
import { parseMergeDigests } from './merge.js'
import { parsePlatforms, type Platform } from './platforms.js'
import { canonicalRegistry, parseImageName, registryHost } from './reference.js'
import type { LatestMode } from './tags.js'
import { isRegistryHost, parseRegistryAuth, type Credential } from './credentials.js'

/** Input names, written once: action.yml is the other half of this contract. */
export const Input = {
  images: 'images',
  platforms: 'platforms',
  context: 'context',
  file: 'file',
  buildArgs: 'build-args',
  labels: 'labels',
  annotations: 'annotations',
  target: 'target',
  secrets: 'secrets',
  cacheFrom: 'cache-from',
  cacheTo: 'cache-to',
  provenance: 'provenance',
  sbom: 'sbom',
  noCache: 'no-cache',
  pull: 'pull',
  push: 'push',
  version: 'version',
  tags: 'tags',
  latest: 'latest',
  registry: 'registry',
  username: 'username',
  password: 'password',
  registryAuth: 'registry-auth',
  githubToken: 'github-token',
  logout: 'logout',
  qemu: 'qemu',
  qemuImage: 'qemu-image',
  driver: 'driver',
  driverOpts: 'driver-opts',
  endpoint: 'endpoint',
  buildkitdConfig: 'buildkitd-config',
  buildkitdConfigInline: 'buildkitd-config-inline',
  insecureRegistries: 'insecure-registries',
  registryMirrors: 'registry-mirrors',
  builder: 'builder',
  buildxVersion: 'buildx-version',
  cleanup: 'cleanup',
  pushByDigest: 'push-by-digest',
  mergeDigests: 'merge-digests',
  append: 'append',
  preflight: 'preflight',
  composeFile: 'compose-file',
  verify: 'verify',
  smokeTest: 'smoke-test',
  smokeTestTimeout: 'smoke-test-timeout',
  archive: 'archive',
  archiveFormat: 'archive-format',
  archiveCompression: 'archive-compression',
  retries: 'retries'
} as const

export type Tristate = 'auto' | 'true' | 'false'
export type Driver = 'docker-container' | 'docker' | 'kubernetes' | 'remote'
const DRIVERS: readonly Driver[] = ['docker-container', 'docker', 'kubernetes', 'remote']

export interface BuildSecret {
  id: string
  value: string
}

export interface Inputs {
  /** Normalized image names; empty means the ghcr.io default for this repository. */
  images: string[]
  platforms: Platform[]
  context: string
  /** Dockerfile path; empty for a remote (git/URL) context that carries its own. */
  file: string
  buildArgs: string[]
  labels: string[]
  annotations: string[]
  target: string
  secrets: BuildSecret[]
  cacheFrom: string[]
  cacheTo: string[]
  provenance: string
  sbom: string
  noCache: boolean
  pull: boolean
  push: Tristate
  version: string
  tags: string[]
  latest: LatestMode
  /** Explicit credentials from registry/username/password and registry-auth. */
  credentials: Credential[]
  githubToken: string
  logout: boolean
  qemu: Tristate
  qemuImage: string
  driver: Driver
  driverOpts: string[]
  endpoint: string
  buildkitdConfig: string
  buildkitdConfigInline: string
  insecureRegistries: string[]
  registryMirrors: string[]
  builder: string
  buildxVersion: string
  cleanup: boolean
  pushByDigest: boolean
  /** platform → digest of each leg to merge; empty means build. */
  mergeDigests: Record<string, string>
  /** BuildKit nodes to add to the builder this step creates. */
  append: AppendNode[]
  preflight: 'true' | 'false' | 'warn'
  composeFile: string
  verify: 'true' | 'false' | 'strict'
  smokeTest: string
  smokeTestTimeoutSeconds: number
  archive: string
  archiveFormat: 'docker' | 'oci'
  archiveCompression: 'none' | 'gzip' | 'zstd'
  retries: number
  /** Lower-casing and similar fixes made to the inputs, for the log. */
  notices: string[]
}

export interface InputEnvironment {
  /** The checkout, against which relative paths are resolved and kept inside. */
  workspace: string
  /** `owner/repo`, for the default image name. */
  repository: string
  actor: string
}

function text(name: string): string {
  return core.getInput(name)
}

function bool(name: string): boolean {
  try {
    return core.getBooleanInput(name)
  } catch {
    throw new InputError(name, `"${core.getInput(name)}" is not a boolean: expected true or false`)
  }
}

function oneOf<T extends string>(name: string, allowed: readonly T[]): T {
  const value = core.getInput(name).toLowerCase()
  if ((allowed as readonly string[]).includes(value)) return value as T
  throw new InputError(name, `"${core.getInput(name)}" is not allowed: expected one of ${allowed.join(', ')}`)
}

/** Reads and validates every input, before anything touches docker or the network. */
export function readInputs(env: InputEnvironment): Inputs {
  const notices: string[] = []

  const imageItems = listItems(text(Input.images), Input.images)
  const images = imageItems.map(item => {
    if (item === '') throw new InputError(Input.images, 'has an empty item: expected image names separated by newlines or commas')
    const { image, notice } = parseImageName(item, Input.images)
    if (notice) notices.push(notice)
    return image.name
  })
  if (images.length === 0) {
    const repo = env.repository.toLowerCase()
    if (!repo) {
      throw new InputError(Input.images, 'is empty and GITHUB_REPOSITORY is not set: expected image names like ghcr.io/owner/app')
    }
    images.push(parseImageName(`ghcr.io/${repo}`, Input.images).image.name)
  }
  if (new Set(images).size !== images.length) {
    throw new InputError(Input.images, `lists an image twice: ${images.join(', ')}`)
  }

  const platformItems = listItems(text(Input.platforms), Input.platforms)
  if (platformItems.length === 0) {
    throw new InputError(Input.platforms, 'is empty: expected os/arch[/variant] items, e.g. linux/amd64,linux/arm64')
  }
  const platforms = parsePlatforms(platformItems, Input.platforms)

  const mergeDigestsText = text(Input.mergeDigests)
  const mergeDigests = mergeDigestsText ? parseMergeDigests(mergeDigestsText, Input.mergeDigests) : {}
  const merging = mergeDigestsText !== ''
  const context = text(Input.context) || '.'
  // A merge builds nothing, so its job needs no checkout and no Dockerfile.
  const remoteContext = isRemoteContext(context) || merging
  if (!remoteContext) insideWorkspace(Input.context, context, env.workspace, 'directory')
  let file = text(Input.file)
  if (!remoteContext) {
    file = file || path.join(context, 'Dockerfile')
    insideWorkspace(Input.file, file, env.workspace, 'file')
  }

  const buildArgs = lines(text(Input.buildArgs))
  for (const arg of buildArgs) {
    const name = arg.split('=', 1)[0]
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new InputError(Input.buildArgs, `"${arg}" is not NAME=value: expected one NAME=value per line, NAME of letters, digits and _`)
    }
  }

  const labels = lines(text(Input.labels))
  for (const label of labels) {
    if (!/^[^=\s][^=]*=/.test(label)) {
      throw new InputError(Input.labels, `"${label}" is not name=value: expected one name=value per line`)
    }
  }

  const secrets = lines(text(Input.secrets)).map(line => {
    const eq = line.indexOf('=')
    const id = eq > 0 ? line.slice(0, eq) : ''
    if (!/^[A-Za-z0-9_.-]+$/.test(id)) {
      throw new InputError(Input.secrets, 'has a line that is not id=value: expected one id=value per line, id of letters, digits, ".", "_" and "-"')
    }
    const value = line.slice(eq + 1)
    if (value) core.setSecret(value)
    return { id, value }
  })
  const secretIds = secrets.map(secret => secret.id)
  const twice = secretIds.find((id, i) => secretIds.indexOf(id) !== i)
  if (twice) throw new InputError(Input.secrets, `gives the id "${twice}" twice: expected one id=value line per secret`)

  const password = text(Input.password)
  if (password) core.setSecret(password)
  const githubToken = text(Input.githubToken)
  if (githubToken) core.setSecret(githubToken)

  const credentials = explicitCredentials(images[0], env.actor, notices)
  const buildkitdConfig = text(Input.buildkitdConfig)
  const buildkitdConfigInline = core.getInput(Input.buildkitdConfigInline, { trimWhitespace: false })
  if (buildkitdConfig && buildkitdConfigInline.trim()) {
    throw new InputError(Input.buildkitdConfig, `cannot be combined with ${Input.buildkitdConfigInline}: give the config either as a file or inline`)
  }
  if (buildkitdConfig) insideWorkspace(Input.buildkitdConfig, buildkitdConfig, env.workspace, 'file')

  const driver = oneOf<Driver>(Input.driver, DRIVERS)
  const endpoint = text(Input.endpoint)
  if (driver === 'remote' && !endpoint) {
    throw new InputError(Input.endpoint, 'is required with driver: remote: expected an address like tcp://buildkitd:1234')
  }

  const buildxVersion = text(Input.buildxVersion)
  if (buildxVersion && !/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(buildxVersion)) {
    throw new InputError(Input.buildxVersion, `"${buildxVersion}" is not a buildx release: expected a version like v0.19.3`)
  }

  const builder = text(Input.builder)
  if (builder && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(builder)) {
    throw new InputError(Input.builder, `"${builder}" is not a builder name: expected letters, digits, "_", "." and "-"`)
  }

  const pushByDigest = bool(Input.pushByDigest)
  if (pushByDigest && merging) {
    throw new InputError(Input.pushByDigest, `cannot be combined with ${Input.mergeDigests}: a step either builds one leg by digest or merges the legs`)
  }
  if (pushByDigest && driver === 'docker') {
    throw new InputError(Input.pushByDigest, 'needs a BuildKit builder: the docker driver cannot push by digest; use driver: docker-container')
  }
  const append = parseAppend(core.getInput(Input.append, { trimWhitespace: false }), Input.append)
  checkAppendTarget(append, { driver, builder }, Input.append)
  const composeFile = text(Input.composeFile)
  if (composeFile) insideWorkspace(Input.composeFile, composeFile, env.workspace, 'file')
  const archive = text(Input.archive)
  if (archive && merging) {
    throw new InputError(Input.archive, `cannot be combined with ${Input.mergeDigests}: a merge builds nothing to archive; write the archives in the legs`)
  }
  if (archive) insideWorkspace(Input.archive, archive, env.workspace, 'any')

  const target = text(Input.target)
  if (target && !/^[A-Za-z][A-Za-z0-9_.-]*$/.test(target)) {
    throw new InputError(Input.target, `"${target}" is not a build stage name: expected the name of a FROM ... AS <name> stage`)
  }

  return {
    images,
    platforms,
    context,
    file,
    buildArgs,
    labels,
    annotations: lines(text(Input.annotations)),
    target,
    secrets,
    cacheFrom: lines(text(Input.cacheFrom)),
    cacheTo: lines(text(Input.cacheTo)),
    provenance: text(Input.provenance),
    sbom: text(Input.sbom),
    noCache: bool(Input.noCache),
    pull: bool(Input.pull),
    push: oneOf<Tristate>(Input.push, ['auto', 'true', 'false']),
    version: text(Input.version),
    tags: lines(text(Input.tags)),
    latest: oneOf<LatestMode>(Input.latest, ['auto', 'true', 'false']),
    credentials,
    githubToken,
    logout: bool(Input.logout),
    qemu: oneOf<Tristate>(Input.qemu, ['auto', 'true', 'false']),
    qemuImage: requiredText(Input.qemuImage, 'an image reference like tonistiigi/binfmt:latest'),
    driver,
    driverOpts: lines(text(Input.driverOpts)),
    endpoint,
    buildkitdConfig,
    buildkitdConfigInline,
    insecureRegistries: hostList(Input.insecureRegistries),
    registryMirrors: hostList(Input.registryMirrors),
    builder,
    buildxVersion,
    cleanup: bool(Input.cleanup),
    pushByDigest,
    mergeDigests,
    append,
    preflight: oneOf(Input.preflight, ['true', 'false', 'warn'] as const),
    composeFile,
    verify: oneOf(Input.verify, ['true', 'false', 'strict'] as const),
    smokeTest: text(Input.smokeTest),
    smokeTestTimeoutSeconds: integer(Input.smokeTestTimeout, 1, 3600),
    archive,
    archiveFormat: oneOf(Input.archiveFormat, ['docker', 'oci'] as const),
    archiveCompression: oneOf(Input.archiveCompression, ['none', 'gzip', 'zstd'] as const),
    retries: integer(Input.retries, 0, 10),
    notices
  }
}

function integer(name: string, min: number, max: number): number {
  const raw = text(name)
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new InputError(name, `"${raw}" is not a whole number from ${min} to ${max}`)
  }
  return Number(raw)
}

function requiredText(name: string, expected: string): string {
  const value = text(name)
  if (!value) throw new InputError(name, `is empty: expected ${expected}`)
  return value
}

function hostList(name: string): string[] {
  return listItems(text(name), name).map(item => {
    const host = item.replace(/^https?:\/\//, '').replace(/\/+$/, '')
    if (!/^[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._/-]+)?$/.test(host) && !/^\[[0-9a-fA-F:]+\](:\d+)?$/.test(host)) {
      throw new InputError(name, `"${item}" is not a registry host: expected host[:port], e.g. registry.internal:5000`)
    }
    return host
  })
}

function explicitCredentials(firstImage: string, actor: string, notices: string[]): Credential[] {
  const registryInput = text(Input.registry)
  const username = text(Input.username)
  const password = text(Input.password)
  const fromYaml = parseRegistryAuth(core.getInput(Input.registryAuth, { trimWhitespace: false }), Input.registryAuth)
  for (const credential of fromYaml) core.setSecret(credential.password)

  const credentials: Credential[] = []
  if (username || password || registryInput) {
    const registry = canonicalRegistry(registryInput || registryHost(firstImage))
    if (!isRegistryHost(registry)) {
      throw new InputError(Input.registry, `"${registryInput}" is not a registry host: expected host[:port], e.g. ghcr.io`)
    }
    if (username && !password) {
      throw new InputError(Input.password, `is empty but username "${username}" is set: give the password or token for ${registry}`)
    }
    if (!username && password) {
      if (registry !== 'ghcr.io') {
        throw new InputError(Input.username, `is empty but a password is set: give the user name for ${registry}`)
      }
      notices.push(`username: using the workflow actor "${actor}" for ghcr.io`)
    }
    if (!registryInput) notices.push(`registry: logging in to ${registry}, the host of ${firstImage}`)
    if (username || password) credentials.push({ registry, username: username || actor, password })
  }
  for (const credential of fromYaml) {
    if (credentials.some(c => c.registry === credential.registry)) {
      throw new InputError(Input.registryAuth, `lists ${credential.registry} twice (or also in registry/username/password): give one login per registry`)
    }
    credentials.push(credential)
  }
  return credentials
}

/** git and URL contexts are fetched by BuildKit itself; there is no local Dockerfile to check. */
export function isRemoteContext(context: string): boolean {
  return /^(https?:\/\/|git@|git:\/\/|github\.com\/)/.test(context)
}

/** Resolves a path input against the workspace; `any` only checks that it stays inside (it may not exist yet). */
function insideWorkspace(name: string, value: string, workspace: string, kind: 'file' | 'directory' | 'any'): void {
  const resolved = path.resolve(workspace, value)
  const relative = path.relative(path.resolve(workspace), resolved)
  if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
    throw new InputError(name, `"${value}" is outside the workspace: expected a path inside the checkout`)
  }
  if (kind === 'any') return
  let stat: fs.Stats
  try {
    stat = fs.statSync(resolved)
  } catch {
    throw new InputError(name, `"${value}" does not exist: expected a ${kind} path relative to the workspace`)
  }
  if (kind === 'file' ? !stat.isFile() : !stat.isDirectory()) {
    throw new InputError(name, `"${value}" is not a ${kind}`)
  }
}
