// A small Distribution API client, so the e2e checks read what was really pushed
// without going through docker or buildx (the tools under test).
import { createHash } from 'node:crypto'

export interface Credentials {
  user: string
  password: string
}

export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json'
} as const

const MANIFEST_ACCEPT = Object.values(MediaType).join(', ')

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: { os: string; architecture: string; variant?: string }
  annotations?: Record<string, string>
}

/** The fields of an index or image manifest the tests read; the rest stays in `json`. */
export interface ManifestJson {
  schemaVersion: number
  mediaType?: string
  manifests?: Descriptor[]
  config?: Descriptor
  layers?: Descriptor[]
  annotations?: Record<string, string>
}

export interface Manifest {
  digest: string
  mediaType: string
  json: ManifestJson
  raw: string
}

export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
    body: string
  ) {
    super(`${status} from ${url}: ${body.slice(0, 500)}`)
    this.name = 'RegistryError'
  }
}

/** Loopback registries speak plain HTTP (as BuildKit assumes); an explicit scheme wins. */
function baseUrl(host: string): string {
  if (/^https?:\/\//.test(host)) return host.replace(/\/+$/, '')
  const hostname = host.replace(/:\d+$/, '')
  const loopback = hostname === 'localhost' || hostname === '[::1]' || /^127\./.test(hostname)
  return `${loopback ? 'http' : 'https'}://${host}`
}

async function request(
  host: string,
  path: string,
  init: { method?: string; accept?: string },
  auth: Credentials | undefined
): Promise<Response> {
  const url = `${baseUrl(host)}${path}`
  const headers: Record<string, string> = {}
  if (init.accept) headers.Accept = init.accept
  const first = await fetch(url, { method: init.method ?? 'GET', headers })
  if (first.status !== 401) return first
  await first.body?.cancel()
  const challenge = first.headers.get('www-authenticate') ?? ''
  if (!auth) throw new RegistryError(401, url, `no credentials for challenge ${challenge}`)
  const authorization = await authorize(challenge, auth, url)
  return fetch(url, { method: init.method ?? 'GET', headers: { ...headers, Authorization: authorization } })
}

/** Basic for an htpasswd registry; a Bearer token from the realm for token-auth registries. */
async function authorize(challenge: string, auth: Credentials, url: string): Promise<string> {
  const basic = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`
  const scheme = challenge.split(' ', 1)[0].toLowerCase()
  if (scheme === 'basic') return basic
  if (scheme !== 'bearer') throw new RegistryError(401, url, `unsupported challenge ${challenge}`)
  const params = Object.fromEntries(
    [...challenge.slice(challenge.indexOf(' ') + 1).matchAll(/(\w+)="([^"]*)"/g)].map(m => [m[1], m[2]])
  )
  if (!params.realm) throw new RegistryError(401, url, `bearer challenge without realm: ${challenge}`)
  const tokenUrl = new URL(params.realm)
  if (params.service) tokenUrl.searchParams.set('service', params.service)
  if (params.scope) tokenUrl.searchParams.set('scope', params.scope)
  const res = await fetch(tokenUrl, { headers: { Authorization: basic } })
  const body = await res.text()
  if (!res.ok) throw new RegistryError(res.status, tokenUrl.href, body)
  const parsed = JSON.parse(body) as { token?: string; access_token?: string }
  return `Bearer ${parsed.token ?? parsed.access_token}`
}

function manifestPath(repo: string, reference: string): string {
  return `/v2/${repo}/manifests/${reference}`
}

/** GET a manifest or index by tag or digest. */
export async function manifest(host: string, repo: string, reference: string, auth?: Credentials): Promise<Manifest> {
  const res = await request(host, manifestPath(repo, reference), { accept: MANIFEST_ACCEPT }, auth)
  const raw = await res.text()
  if (!res.ok) throw new RegistryError(res.status, res.url, raw)
  const digest = res.headers.get('docker-content-digest') ?? `sha256:${createHash('sha256').update(raw).digest('hex')}`
  const json = JSON.parse(raw) as ManifestJson
  const mediaType = json.mediaType ?? (res.headers.get('content-type') ?? '').split(';')[0]
  return { digest, mediaType, json, raw }
}

/** GET a blob and parse it as JSON (image configs, attestation statements). */
export async function blobJson<T = unknown>(host: string, repo: string, digest: string, auth?: Credentials): Promise<T> {
  const res = await request(host, `/v2/${repo}/blobs/${digest}`, {}, auth)
  const raw = await res.text()
  if (!res.ok) throw new RegistryError(res.status, res.url, raw)
  return JSON.parse(raw) as T
}

/** Tags of a repository, sorted; [] when the registry does not know the repository. */
export async function tags(host: string, repo: string, auth?: Credentials): Promise<string[]> {
  const res = await request(host, `/v2/${repo}/tags/list`, {}, auth)
  const raw = await res.text()
  if (res.status === 404) return []
  if (!res.ok) throw new RegistryError(res.status, res.url, raw)
  const parsed = JSON.parse(raw) as { tags?: string[] | null }
  return [...(parsed.tags ?? [])].sort()
}

/** `os/architecture[/variant]` as the image config of a (single-platform) manifest states it. */
export async function imageConfigPlatform(host: string, repo: string, digest: string, auth?: Credentials): Promise<string> {
  const m = await manifest(host, repo, digest, auth)
  if (!m.json.config) throw new Error(`${repo}@${digest} is ${m.mediaType}, not an image manifest`)
  const config = await blobJson<{ os: string; architecture: string; variant?: string }>(host, repo, m.json.config.digest, auth)
  return [config.os, config.architecture, config.variant].filter(Boolean).join('/')
}

/** Whether a tag or digest resolves (HEAD); other failures than 404 throw. */
export async function exists(host: string, repo: string, reference: string, auth?: Credentials): Promise<boolean> {
  const res = await request(host, manifestPath(repo, reference), { method: 'HEAD', accept: MANIFEST_ACCEPT }, auth)
  if (res.status === 404) return false
  if (!res.ok) throw new RegistryError(res.status, res.url, '')
  return true
}

/** Attestation manifests BuildKit adds to an index (platform unknown/unknown). */
export function isAttestation(d: Descriptor): boolean {
  return d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || d.platform?.os === 'unknown'
}

export function platformOf(d: Descriptor): string {
  if (!d.platform) return ''
  return [d.platform.os, d.platform.architecture, d.platform.variant].filter(Boolean).join('/')
}

/** One entry of an index: an image, or the attestation of the image it names. */
export interface IndexEntry {
  digest: string
  platform: string
  attestationOf?: string
}

export function indexEntries(m: Manifest): IndexEntry[] {
  return (m.json.manifests ?? []).map(d =>
    isAttestation(d)
      ? { digest: d.digest, platform: platformOf(d), attestationOf: d.annotations?.['vnd.docker.reference.digest'] }
      : { digest: d.digest, platform: platformOf(d) }
  )
}
