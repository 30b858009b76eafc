import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { userDockerConfig } from './dockerconfig.js'
import { httpRequest, type HttpClient, type HttpResponse } from './http.js'
import { canonicalRegistry, isLoopbackRegistry, registryHost } from './reference.js'

// The Distribution API, as far as the action reads and tags what it pushed.

/** Sent with every registry request, so a registry's logs tell this client's reads from BuildKit's and buildx's. */
const USER_AGENT = 'multiarch-release'

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json'
].join(', ')

export interface ImageRef {
  /** Registry host as named (docker.io for Docker Hub). */
  registry: string
  repository: string
  /** Digest or tag. */
  reference: string
}

/** Splits `host/path[:tag]@sha256:...` (or `host/path:tag`) as the registry API needs it. */
export function parseImageRef(ref: string): ImageRef {
  const at = ref.indexOf('@')
  const name = at >= 0 ? ref.slice(0, at) : ref
  let reference = at >= 0 ? ref.slice(at + 1) : ''
  const slash = name.indexOf('/')
  const first = slash >= 0 ? name.slice(0, slash) : ''
  // As docker reads a name: the first component is a host only when it looks like one.
  const hasDomain = first.includes('.') || first.includes(':') || first.toLowerCase() === 'localhost'
  let repository = hasDomain ? name.slice(slash + 1) : name
  const colon = repository.lastIndexOf(':')
  if (colon > repository.lastIndexOf('/')) {
    if (!reference) reference = repository.slice(colon + 1)
    repository = repository.slice(0, colon)
  }
  const registry = registryHost(name)
  repository = repository.toLowerCase()
  if (registry === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`
  return { registry, repository, reference: reference || 'latest' }
}

interface Credentials {
  username?: string
  password?: string
  identityToken?: string
}

/** Credentials `docker login` stored in `<dir>/config.json` for a registry; credential helpers are not consulted. */
export function dockerCredentials(registry: string, dir: string = userDockerConfig()): Credentials | undefined {
  let config: { auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }> }
  try {
    config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as typeof config
  } catch {
    return undefined
  }
  const wanted = canonicalRegistry(registry)
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    const host = key.replace(/^https?:\/\//, '').replace(/\/.*$/, '').toLowerCase()
    if (canonicalRegistry(host) !== wanted) continue
    if (entry.identitytoken) return { identityToken: entry.identitytoken }
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
    }
    if (entry.username !== undefined) return { username: entry.username, password: entry.password ?? '' }
  }
  return undefined
}

/** The client of the options when one is shared (one auth handshake, one manifest fetch), else a new one. */
export function clientFor(ref: string, options: RegistryOptions): RegistryClient {
  if (options.client) return options.client
  const { registry, repository } = parseImageRef(ref)
  return new RegistryClient(registry, repository, options)
}

/** What a Bearer token is asked for. */
type Access = 'pull' | 'pull,push'

export interface RegistryOptions {
  /** A client of the image's repository to share between checks of the same release. */
  client?: RegistryClient
  /** Docker config directory to read credentials from; DOCKER_CONFIG or ~/.docker by default. */
  dockerConfig?: string
  /** Hosts reached over plain HTTP besides loopback ones (the insecure-registries input). */
  insecureRegistries?: string[]
  /** For tests. */
  http?: HttpClient
}

/** Reads the manifests and blobs of one repository, and tags its manifests, through the Distribution API, with Basic or Bearer auth. */
export class RegistryClient {
  private readonly base: string
  private readonly http: HttpClient
  /** The WWW-Authenticate header of the first request, or undefined when the registry asked for none. */
  private challenge: Promise<string | undefined> | undefined
  private readonly authorizations = new Map<Access, Promise<string | undefined>>()

  constructor(
    readonly registry: string,
    readonly repository: string,
    private readonly options: RegistryOptions = {}
  ) {
    const host = canonicalRegistry(registry) === 'docker.io' ? 'registry-1.docker.io' : registry
    const plain = isLoopbackRegistry(host) || (options.insecureRegistries ?? []).some(h => h.toLowerCase() === host.toLowerCase())
    this.base = `${plain ? 'http' : 'https'}://${host}`
    const http = options.http ?? httpRequest
    this.http = (url, request = {}) => http(url, { ...request, headers: { 'User-Agent': USER_AGENT, ...request.headers } })
  }

  /**
   * Loads the HTTP client (and opens a connection a short build can reuse) while the build
   * runs, with an unauthenticated request to the API root; nothing is read or authorized here,
   * since a token asked for before the push would not cover a repository the push creates.
   */
  warmUp(): void {
    this.http(`${this.base}/v2/`, { method: 'HEAD' })
      .then(res => res.discard())
      .catch(() => undefined)
  }

  /** Manifests by reference, each fetched once per client: the digest read and the checks of one release share them. */
  private readonly manifests = new Map<string, Promise<string>>()

  manifest(reference: string): Promise<Record<string, unknown>> {
    return this.manifestText(reference).then(text => JSON.parse(text) as Record<string, unknown>)
  }

  /** A manifest or index as the registry stores it; by digest, checked against that digest. */
  manifestText(reference: string): Promise<string> {
    let manifest = this.manifests.get(reference)
    if (!manifest) {
      manifest = this.fetchManifest(reference)
      this.manifests.set(reference, manifest)
      // A failed read is not kept: the next reader asks again.
      manifest.catch(() => this.manifests.delete(reference))
    }
    return manifest
  }

  private async fetchManifest(reference: string): Promise<string> {
    const url = `${this.base}/v2/${this.repository}/manifests/${reference}`
    const authorization = await this.authorize(url)
    const res = await this.http(url, { headers: { Accept: MANIFEST_ACCEPT, ...(authorization ? { Authorization: authorization } : {}) } })
    const body = await res.bytes()
    if (!res.ok) throw new Error(`GET ${url} answered ${res.status}: ${body.toString('utf8').slice(0, 300)}`)
    if (/^sha256:[0-9a-f]{64}$/.test(reference)) {
      const actual = `sha256:${createHash('sha256').update(body).digest('hex')}`
      if (actual !== reference) throw new Error(`GET ${url} answered a manifest whose digest is ${actual}`)
    }
    return body.toString('utf8')
  }

  /** GET a blob as a stream; follows the registry's redirect to its storage. */
  async blob(digest: string): Promise<HttpResponse> {
    const url = `${this.base}/v2/${this.repository}/blobs/${digest}`
    const authorization = await this.authorize(url)
    const res = await this.http(url, { headers: authorization ? { Authorization: authorization } : {} })
    if (!res.ok) {
      const body = await res.text().catch(() => '')
      throw new Error(`GET ${url} answered ${res.status}: ${body.slice(0, 300)}`)
    }
    return res
  }

  /**
   * PUTs a manifest under a tag, as the registry stores it under `digest`: one index write
   * adds a tag without pushing anything else. Checks the digest the registry answers with.
   */
  async putManifest(tag: string, body: string, mediaType: string, digest: string): Promise<void> {
    const url = `${this.base}/v2/${this.repository}/manifests/${tag}`
    const authorization = await this.authorize(url, 'pull,push')
    const res = await this.http(url, {
      method: 'PUT',
      headers: { 'Content-Type': mediaType, ...(authorization ? { Authorization: authorization } : {}) },
      body
    })
    const answer = await res.text().catch(() => '')
    if (!res.ok) throw new Error(`PUT ${url} answered ${res.status}: ${answer.slice(0, 300)}`)
    const stored = res.header('docker-content-digest')
    if (stored && stored !== digest) throw new Error(`PUT ${url} stored ${stored}, not ${digest}`)
  }

  /**
   * One challenge per client: the first request asks, every later one reuses the answer for
   * its access (a Bearer token is scoped to pull, or to pull and push; Basic covers both).
   */
  private authorize(url: string, access: Access = 'pull'): Promise<string | undefined> {
    this.challenge ??= (async () => {
      const probe = await this.http(url, { method: 'HEAD' })
      probe.discard()
      return probe.status === 401 ? (probe.header('www-authenticate') ?? '') : undefined
    })()
    let authorization = this.authorizations.get(access)
    if (!authorization) {
      authorization = this.challenge.then(challenge => (challenge === undefined ? undefined : this.answer(challenge, url, access)))
      this.authorizations.set(access, authorization)
    }
    return authorization
  }

  private async answer(challenge: string, url: string, access: Access): Promise<string> {
    const credentials = dockerCredentials(this.registry, this.options.dockerConfig)
    const scheme = challenge.split(' ', 1)[0]!.toLowerCase()
    const basic =
      credentials?.username !== undefined
        ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password ?? ''}`).toString('base64')}`
        : undefined
    if (scheme === 'basic') {
      if (!basic) throw new Error(`${url} needs a login: no credentials for ${this.registry} in the Docker config`)
      return basic
    }
    if (scheme !== 'bearer') throw new Error(`${url} asks for unsupported authentication: ${challenge}`)
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map(m => [m[1]!.toLowerCase(), m[2]!]))
    if (!params.realm) throw new Error(`${url} sent a Bearer challenge without realm: ${challenge}`)
    // The probe's challenge names the scope of a read; a tag needs push as well.
    const scope = access === 'pull' && params.scope ? params.scope : `repository:${this.repository}:${access}`
    let res: HttpResponse
    if (credentials?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.identityToken, scope, client_id: 'multiarch-release' })
      if (params.service) form.set('service', params.service)
      res = await this.http(params.realm, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString() })
    } else {
      const tokenUrl = new URL(params.realm)
      if (params.service) tokenUrl.searchParams.set('service', params.service)
      tokenUrl.searchParams.set('scope', scope)
      res = await this.http(tokenUrl, { headers: basic ? { Authorization: basic } : {} })
    }
    const body = await res.text()
    if (!res.ok) throw new Error(`the token service of ${this.registry} answered ${res.status}: ${body.slice(0, 300)}`)
    const token = (JSON.parse(body) as { token?: string; access_token?: string })
    const value = token.token ?? token.access_token
    if (!value) throw new Error(`the token service of ${this.registry} returned no token`)
    return `Bearer ${value}`
  }
}

/** One client per repository, so the reads and writes of one release share each auth handshake and manifest read. */
export function registryClients(options: RegistryOptions = {}): (image: string) => RegistryClient {
  const clients = new Map<string, RegistryClient>()
  return image => {
    const { registry, repository } = parseImageRef(image)
    const key = `${registry}/${repository}`
    let client = clients.get(key)
    if (!client) {
      client = new RegistryClient(registry, repository, options)
      clients.set(key, client)
    }
    return client
  }
}
