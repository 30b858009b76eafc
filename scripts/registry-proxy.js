// An HTTP proxy in front of a registry on loopback, for fault tests and the retry benchmark:
// it forwards every method with its headers and streamed body both ways, points upload
// Locations at itself, answers the first `times` requests matching a fault with the fault's
// status instead, and can go down (connection reset, then refused) and come back on the same
// port, as a registry that restarts does.
import http from 'node:http'

export class RegistryProxy {
  /** @param {string} upstream host:port @param {import('./registry-proxy.js').Fault[]} faults */
  constructor(upstream, faults = []) {
    this.upstream = upstream
    this.faults = faults
    this.left = faults.map(f => f.times)
    this.requests = []
    this.host = ''
    this.port = 0
    this.agent = new http.Agent({ keepAlive: true })
    this.outage = undefined
    this.server = this.newServer()
  }

  newServer() {
    return http.createServer((req, res) => this.handle(req, res))
  }

  async start() {
    await new Promise(resolve => this.server.listen(this.port, '127.0.0.1', resolve))
    this.port = this.server.address().port
    this.host = `127.0.0.1:${this.port}`
    return this
  }

  async close() {
    this.server.closeAllConnections()
    this.agent.destroy()
    await new Promise(resolve => this.server.close(() => resolve()))
  }

  /** The first request matching `match` resets its connection and takes the proxy down for `forMs`. */
  restartOn(match, forMs) {
    this.outage = { match, forMs, done: false }
    return this
  }

  get faulted() {
    return this.requests.filter(r => r.faulted !== undefined)
  }

  handle(req, res) {
    const seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      userAgent: String(req.headers['user-agent'] ?? ''),
      authorized: req.headers.authorization !== undefined
    }
    this.requests.push(seen)
    if (this.outage && !this.outage.done && this.outage.match(seen)) {
      this.outage.done = true
      seen.faulted = 0
      void this.goDown(this.outage.forMs)
      req.socket.destroy()
      return
    }
    const i = this.faults.findIndex((f, n) => this.left[n] > 0 && f.match(seen))
    if (i >= 0) {
      this.left[i]--
      const fault = this.faults[i]
      seen.faulted = fault.status
      req.resume()
      const body = fault.body ?? `${http.STATUS_CODES[fault.status] ?? 'fault'}\n`
      res.writeHead(fault.status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body), ...(fault.headers ?? {}) })
      res.end(body)
      return
    }
    const [hostname, port] = this.upstream.split(':')
    const headers = { ...req.headers }
    delete headers.connection
    delete headers['keep-alive']
    const upstreamReq = http.request({ hostname, port: Number(port), method: req.method, path: req.url, headers, agent: this.agent }, upstreamRes => {
      const out = { ...upstreamRes.headers }
      delete out.connection
      delete out['keep-alive']
      const location = upstreamRes.headers.location
      if (location) out.location = location.replace(`//${this.upstream}/`, `//${this.host}/`)
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, out)
      upstreamRes.pipe(res)
    })
    upstreamReq.on('error', e => {
      if (!res.headersSent) {
        res.writeHead(502, { 'Content-Type': 'text/plain' })
        res.end(`proxy: ${e.message}\n`)
      } else {
        res.destroy(e)
      }
    })
    req.pipe(upstreamReq)
  }

  /** Stops listening (new connections are refused), then listens again on the same port. */
  async goDown(forMs) {
    this.downSince = Date.now()
    const old = this.server
    old.closeAllConnections()
    await new Promise(resolve => old.close(() => resolve()))
    await new Promise(resolve => setTimeout(resolve, forMs))
    this.server = this.newServer()
    await new Promise(resolve => this.server.listen(this.port, '127.0.0.1', resolve))
    this.downMs = Date.now() - this.downSince
  }
}
