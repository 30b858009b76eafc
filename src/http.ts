import * as http from 'node:http'
import * as https from 'node:https'
import type { Readable } from 'node:stream'

// The registry checks speak HTTP through node:http rather than fetch: fetch brings undici
// (loaded on first use, and its parser's background compilation holds up the process exit),
// about 25 ms of a step that otherwise does little but wait for docker.

export interface HttpRequest {
  method?: 'GET' | 'HEAD' | 'POST'
  headers?: Record<string, string>
  /** Sent as given; a form body needs its Content-Type header. */
  body?: string
}

export interface HttpResponse {
  status: number
  ok: boolean
  /** The URL that answered, after redirects. */
  url: string
  header(name: string): string | undefined
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
    const res = await send(target, method, headers, body)
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

function send(url: URL, method: string, headers: Record<string, string>, body: string | undefined): Promise<http.IncomingMessage> {
  const transport = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined
  if (!transport) return Promise.reject(new Error(`${url.href}: only http and https URLs can be read`))
  return new Promise((resolve, reject) => {
    const req = transport.request(url, { method, headers: body === undefined ? headers : { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } }, resolve)
    req.on('error', (e: Error) => reject(new Error(`${method} ${url.href} failed: ${e.message}`)))
    req.end(body)
  })
}

function wrap(res: http.IncomingMessage, url: URL): HttpResponse {
  const status = res.statusCode ?? 0
  return {
    status,
    ok: status >= 200 && status < 300,
    url: url.href,
    header: name => {
      const value = res.headers[name.toLowerCase()]
      return Array.isArray(value) ? value.join(', ') : value
    },
    text: async () => {
      const chunks: Buffer[] = []
      for await (const chunk of res) chunks.push(chunk as Buffer)
      return Buffer.concat(chunks).toString('utf8')
    },
    body: res,
    discard: () => {
      res.resume()
    }
  }
}
