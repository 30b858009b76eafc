import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { fetchOverHttp, httpRequest } from '../../src/http.js'

// Two real servers on loopback: two origins, as a registry and the storage it redirects blobs to.
interface Seen {
  method: string
  path: string
  authorization?: string
  contentType?: string
  body: string
}

function server(handler: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = []
  const s = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString('utf8')))
    req.on('end', () => {
      seen.push({ method: req.method!, path: req.url!, authorization: req.headers.authorization, contentType: req.headers['content-type'], body })
      handler(req, res, body)
    })
  })
  return new Promise(resolve =>
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      resolve({ url: `http://127.0.0.1:${port}`, seen, close: () => new Promise(done => s.close(() => done())) })
    })
  )
}

describe('httpRequest', () => {
  let storage: Awaited<ReturnType<typeof server>>
  let registry: Awaited<ReturnType<typeof server>>

  beforeAll(async () => {
    storage = await server((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' })
      res.end(`blob at ${req.url}`)
    })
    registry = await server((req, res, body) => {
      if (req.url === '/v2/') return void res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="test"' }).end()
      if (req.url === '/blob') return void res.writeHead(307, { Location: `${storage.url}/data/1` }).end()
      if (req.url === '/moved') return void res.writeHead(302, { Location: '/here' }).end()
      if (req.url === '/loop') return void res.writeHead(302, { Location: '/loop' }).end()
      if (req.url === '/silent') return
      if (req.url === '/stalls') return void res.writeHead(200, { 'Content-Length': '100' }).write('part')
      if (req.url === '/token') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token: body }))
      res.writeHead(req.url === '/here' ? 200 : 404, { 'X-Path': req.url! }).end(`at ${req.url}`)
    })
  })
  afterAll(async () => {
    await Promise.all([storage.close(), registry.close()])
  })

  test('a status, its headers and the body as text', async () => {
    const res = await httpRequest(`${registry.url}/v2/`, { method: 'HEAD' })
    expect([res.status, res.ok, res.header('www-authenticate'), res.header('WWW-Authenticate')]).toEqual([401, false, 'Basic realm="test"', 'Basic realm="test"'])
    res.discard()
    const missing = await httpRequest(`${registry.url}/nothing`)
    expect([missing.status, missing.ok, await missing.text(), missing.header('x-path')]).toEqual([404, false, 'at /nothing', '/nothing'])
  })

  test('follows a redirect on the same origin with the Authorization header', async () => {
    const res = await httpRequest(`${registry.url}/moved`, { headers: { Authorization: 'Bearer secret' } })
    expect([res.status, res.url, await res.text()]).toEqual([200, `${registry.url}/here`, 'at /here'])
    expect(registry.seen.filter(s => s.path === '/here').map(s => s.authorization)).toEqual(['Bearer secret'])
  })

  test('follows a redirect to another origin without the Authorization header', async () => {
    const res = await httpRequest(`${registry.url}/blob`, { headers: { Authorization: 'Bearer secret', Accept: '*/*' } })
    const chunks: Buffer[] = []
    for await (const chunk of res.body) chunks.push(chunk as Buffer)
    expect([res.status, res.url, Buffer.concat(chunks).toString()]).toEqual([200, `${storage.url}/data/1`, 'blob at /data/1'])
    expect(registry.seen.filter(s => s.path === '/blob').map(s => s.authorization)).toEqual(['Bearer secret'])
    expect(storage.seen.map(s => [s.path, s.authorization])).toEqual([['/data/1', undefined]])
  })

  test('sends a POST body with its length', async () => {
    const res = await httpRequest(`${registry.url}/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token&scope=a' })
    expect(JSON.parse(await res.text())).toEqual({ token: 'grant_type=refresh_token&scope=a' })
    expect(registry.seen.filter(s => s.path === '/token').map(s => s.contentType)).toEqual(['application/x-www-form-urlencoded'])
  })

  test('fetchOverHttp answers the way Octokit reads a fetch response', async () => {
    const res = await fetchOverHttp(`${registry.url}/token`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{"a":[1,2]}' })
    expect([res.status, res.statusText, res.url, res.headers.get('content-type')]).toEqual([200, 'OK', `${registry.url}/token`, 'application/json'])
    expect([...res.headers].find(([name]) => name === 'content-type')).toEqual(['content-type', 'application/json'])
    expect(await res.json()).toEqual({ token: '{"a":[1,2]}' })
    expect(Buffer.from(await res.arrayBuffer()).toString()).toBe(JSON.stringify({ token: '{"a":[1,2]}' }))
    const missing = await fetchOverHttp(`${registry.url}/nothing`)
    expect([missing.status, missing.statusText, await missing.text()]).toEqual([404, 'Not Found', 'at /nothing'])
    await expect(fetchOverHttp(`${registry.url}/x`, { method: 'DELETE' })).rejects.toThrow(`DELETE ${registry.url}/x: only GET, HEAD and POST are sent`)
  })

  test('fails a request whose connection stays silent, before the answer or in the body', async () => {
    await expect(httpRequest(`${registry.url}/silent`, { idleTimeoutMs: 200 })).rejects.toThrow(`GET ${registry.url}/silent failed: no data for 0.2 s`)
    const res = await httpRequest(`${registry.url}/stalls`, { idleTimeoutMs: 200 })
    expect(res.status).toBe(200)
    await expect(res.text()).rejects.toThrow()
  })

  test('gives up after ten redirects, and names the URL when the server cannot be reached', async () => {
    await expect(httpRequest(`${registry.url}/loop`)).rejects.toThrow(`${registry.url}/loop: more than 10 redirects`)
    const closed = await server(() => undefined)
    await closed.close()
    await expect(httpRequest(`${closed.url}/v2/`)).rejects.toThrow(new RegExp(`^GET ${closed.url}/v2/ failed: .*ECONNREFUSED`))
    await expect(httpRequest('ftp://127.0.0.1/x')).rejects.toThrow('ftp://127.0.0.1/x: only http and https URLs can be read')
  })
})
