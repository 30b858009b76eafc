import http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as realUndici from 'undici'
import { HttpClient, loadHttpClient } from '../../src/shims/http-client.js'
import { fetch, loadUndici, ProxyAgent } from '../../src/shims/undici.js'

// The bundle maps @actions/http-client and undici to these stand-ins (tsconfig.json "paths"),
// which load the real packages only on demand. Here they are imported directly.
describe('the on-demand stand-ins', () => {
  test('undici: refused before loadUndici, the real classes and fetch after it', async () => {
    expect(() => new ProxyAgent('http://127.0.0.1:3128')).toThrow('undici is used before loadUndici()')
    await expect(fetch('http://127.0.0.1:1/')).rejects.toThrow('undici is used before loadUndici()')
    await loadUndici()
    const agent = new ProxyAgent('http://127.0.0.1:3128')
    expect(agent).toBeInstanceOf(realUndici.ProxyAgent)
    await agent.close()

    const server = http.createServer((_req, res) => res.end('hello'))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
      expect([res.status, await res.text()]).toEqual([200, 'hello'])
    } finally {
      await new Promise(resolve => server.close(resolve))
    }
  })

  test('@actions/http-client: bindings undefined until loadHttpClient, the real client after it', async () => {
    expect(HttpClient).toBeUndefined()
    await loadHttpClient()
    expect(typeof new HttpClient('test').getAgent).toBe('function')
  })
})
