import type * as http from 'node:http'
import type { Readable } from 'node:stream'

// The registry checks speak HTTP through node:http rather than fetch: fetch brings undici
// (loaded on first use, and its parser's background compilation holds up the process exit),
// about 25 ms of a step that otherwise does little but wait for docker.

export interface HttpRequest {
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT'
  headers?: Record<string, string>
  /** Sent as given; a form body needs its Content-Type header. */
  body?: string
  /** How long the connection may stay silent, the body's reading included, before the request fails. */
  idleTimeoutMs?: number
}

/** As long as undici lets a fetch wait for headers or body: a stalled registry fails the check, it does not hang the job. */
const IDLE_TIMEOUT_MS = 300_000

export interface HttpResponse {
  status: number
  statusText: string
  ok: boolean
  /** The URL that answered, after redirects. */
  url: string
  header(name: string): string | undefined
  /** Every header, names in lower case, repeated ones joined with ", ". */
  headers: Record<string, string>
  bytes(): Promise<Buffer>
  text(): Promise<string>
  /** The body as a stream, for large blobs; read it or call discard(). */
  body: Readable
  discard(): void
}

export type HttpClient = (url: string | URL, request?: HttpRequest) => Promise<HttpResponse>

const MAX_REDIRECTS = 10

/** One request; follows redirects (registries send blobs to storage elsewhere) and drops Authorization when the origin changes. */
export const httpRequest: HttpClient = async (url, request = {}) => {
  let target = new URL(String(url))
  let { method = 'GET', headers = {}, body } = request
  for (let redirects = 0; ; redirects++) {
    const res = await send(target, method, headers, body, request.idleTimeoutMs ?? IDLE_TIMEOUT_MS)
    const location = res.headers.location
    if (!location || ![301, 302, 303, 307, 308].includes(res.statusCode ?? 0)) return wrap(res, target)
    res.resume()
    if (redirects === MAX_REDIRECTS) throw new Error(`${String(url)}: more than ${MAX_REDIRECTS} redirects`)
    const next = new URL(location, target)
    if (next.origin !== target.origin) headers = withoutAuthorization(headers)
    if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
      method = 'GET'
      body = undefined
    }
    target = next
  }
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'))
}

/**
 * Loaded with the first request that needs it: node:https brings TLS (several milliseconds),
 * which a step talking plain HTTP to a loopback registry never needs, and which a release
 * otherwise loads while docker works rather than before its first call.
 */
function transport(url: URL): Promise<Pick<typeof http, 'request'>> | undefined {
  if (url.protocol === 'https:') return import('node:https')
  if (url.protocol === 'http:') return import('node:http')
  return undefined
}

async function send(url: URL, method: string, headers: Record<string, string>, body: string | undefined, idleTimeoutMs: number): Promise<http.IncomingMessage> {
  const loading = transport(url)
  if (!loading) throw new Error(`${url.href}: only http and https URLs can be read`)
  const { request } = await loading
  return new Promise((resolve, reject) => {
    const failed = (e: Error): Error => new Error(`${method} ${url.href} failed: ${e.message}`)
    const req = request(url, { method, headers: body === undefined ? headers : { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } }, res => {
      // A body nobody reads must not crash the process when its connection breaks; a reader still gets the error.
      res.on('error', () => undefined)
      resolve(res)
    })
    req.setTimeout(idleTimeoutMs, () => req.destroy(new Error(`no data for ${idleTimeoutMs / 1000} s`)))
    req.on('error', (e: Error) => reject(failed(e)))
    req.end(body)
  })
}

function wrap(res: http.IncomingMessage, url: URL): HttpResponse {
  const status = res.statusCode ?? 0
  const headers = Object.fromEntries(Object.entries(res.headers).flatMap(([name, value]) => (value === undefined ? [] : [[name, Array.isArray(value) ? value.join(', ') : value]])))
  let read: Promise<Buffer> | undefined
  const bytes = (): Promise<Buffer> =>
    (read ??= (async () => {
      const chunks: Buffer[] = []
      for await (const chunk of res) chunks.push(chunk as Buffer)
      return Buffer.concat(chunks)
    })())
  return {
    status,
    statusText: res.statusMessage ?? '',
    ok: status >= 200 && status < 300,
    url: url.href,
    header: name => headers[name.toLowerCase()],
    headers,
    bytes,
    text: async () => (await bytes()).toString('utf8'),
    body: res,
    discard: () => {
      res.resume()
    }
  }
}

/**
 * The part of fetch that Octokit uses, over httpRequest: a REST client without undici. The
 * headers are a Map (get and iteration), which is all Octokit reads of them.
 */
export async function fetchOverHttp(input: string | URL, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{
  status: number
  statusText: string
  url: string
  headers: Map<string, string>
  text(): Promise<string>
  json(): Promise<unknown>
  arrayBuffer(): Promise<ArrayBuffer>
}> {
  const method = (init.method ?? 'GET').toUpperCase()
  if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') throw new Error(`${method} ${String(input)}: only GET, HEAD and POST are sent`)
  const res = await httpRequest(input, { method, headers: init.headers, body: init.body })
  const body = res.bytes()
  body.catch(() => undefined)
  return {
    status: res.status,
    statusText: res.statusText,
    url: res.url,
    headers: new Map(Object.entries(res.headers)),
    text: async () => (await body).toString('utf8'),
    json: async () => JSON.parse((await body).toString('utf8')) as unknown,
    arrayBuffer: async () => {
      const b = await body
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer
    }
  }
}
