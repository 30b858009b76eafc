// A registry stand-in for the runs with the scripted docker (bench/fake-docker.sh), which
// pushes nothing: it holds the index the scripted build "pushed" (a captured raw index) in one
// repository, asks for Basic credentials as an htpasswd registry does, and takes manifest PUTs
// (tags). Platform manifests and blobs are not held: the checks that read them skip.
import { createHash } from 'node:crypto'
import http from 'node:http'

/**
 * @param {{ repository: string, index: string, username: string, password: string }} options
 * @returns {Promise<import('./registry-stand-in.js').RegistryStandIn>}
 */
export async function startRegistryStandIn({ repository, index, username, password }) {
  const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
  const digestOf = body => `sha256:${createHash('sha256').update(body).digest('hex')}`
  const mediaTypeOf = body => JSON.parse(body).mediaType ?? 'application/vnd.oci.image.index.v1+json'
  /** reference (digest or tag) → manifest body */
  const manifests = new Map([[digestOf(index), index]])
  const stand = { host: '', requests: [], tags: new Map(), close: () => undefined }

  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', chunk => chunks.push(chunk))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stand-in')
      stand.requests.push(`${req.method} ${url.pathname}`)
      const answer = (status, body = '', headers = {}) => {
        res.writeHead(status, { 'Content-Length': Buffer.byteLength(body), ...headers })
        res.end(req.method === 'HEAD' ? undefined : body)
      }
      if (req.headers.authorization !== expected) {
        answer(401, '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}\n', {
          'Content-Type': 'application/json',
          'WWW-Authenticate': 'Basic realm="registry stand-in"'
        })
        return
      }
      if (url.pathname === '/v2/') return answer(200, '{}', { 'Content-Type': 'application/json' })
      const m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname)
      if (m && m[1] === repository && req.method === 'PUT') {
        const body = Buffer.concat(chunks).toString('utf8')
        manifests.set(m[2], body)
        stand.tags.set(m[2], body)
        return answer(201, '', { 'Docker-Content-Digest': digestOf(body), Location: url.pathname })
      }
      const body = m && m[1] === repository ? manifests.get(m[2]) : undefined
      if (body !== undefined && (req.method === 'GET' || req.method === 'HEAD')) {
        return answer(200, body, { 'Content-Type': mediaTypeOf(body), 'Docker-Content-Digest': digestOf(body) })
      }
      answer(404, '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}\n', { 'Content-Type': 'application/json' })
    })
  })
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  stand.host = `127.0.0.1:${server.address().port}`
  stand.close = () => new Promise(resolve => server.close(() => resolve()))
  return stand
}
