import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { HttpClient, HttpRequest } from '../../src/http.js'
import type { PhaseLog } from '../../src/phases.js'
import { tagIndex } from '../../src/publish.js'
import { registryClients } from '../../src/registry.js'
import { ok, RecordingDocker } from '../fixtures/cli.js'
import { httpResponse } from '../fixtures/http.js'

// The index of three platforms with attestations that buildx pushed, as the registry stores it.
const FIXTURES = new URL('../fixtures/buildx/', import.meta.url)
const RAW = readFileSync(new URL('attestations.raw.json', FIXTURES), 'utf8')
const DIGEST = (JSON.parse(readFileSync(new URL('attestations.metadata.json', FIXTURES), 'utf8')) as Record<string, string>)['containerimage.digest']!
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'

interface Seen {
  method: string
  url: string
  authorization?: string
  contentType?: string
  body?: string
}

/**
 * A Distribution API that holds the index in every repository under `registries`, and asks
 * for `auth`: Basic credentials, or a Bearer token from its own token service. Answers PUTs
 * with `putStatus`.
 */
function fakeRegistry(auth: 'basic' | 'bearer', seen: Seen[], putStatus = 201): HttpClient {
  const tags = new Map<string, string>()
  return async (input: string | URL, request: HttpRequest = {}) => {
    const url = new URL(String(input))
    const headers = request.headers ?? {}
    seen.push({ method: request.method ?? 'GET', url: url.href, authorization: headers.Authorization, contentType: headers['Content-Type'], body: request.body })
    if (url.pathname === '/token') {
      return httpResponse(url.href, 200, JSON.stringify({ token: `token-for-${url.searchParams.get('scope')}` }))
    }
    const expected = auth === 'basic' ? `Basic ${Buffer.from('ci:secret').toString('base64')}` : undefined
    const authorized = auth === 'basic' ? headers.Authorization === expected : headers.Authorization?.startsWith('Bearer token-for-')
    if (!authorized) {
      const challenge = auth === 'basic' ? 'Basic realm="registry"' : `Bearer realm="http://${url.host}/token",service="registry",scope="repository:acme/app:pull"`
      return httpResponse(url.href, 401, '', { 'www-authenticate': challenge })
    }
    const m = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(url.pathname)
    if (!m) return httpResponse(url.href, 404)
    if (request.method === 'PUT') {
      if (auth === 'bearer' && !headers.Authorization!.includes(':pull,push')) return httpResponse(url.href, 401, '{"errors":[{"code":"DENIED"}]}')
      tags.set(`${m[1]}:${m[2]}`, request.body ?? '')
      return httpResponse(url.href, putStatus, putStatus === 201 ? '' : '{"errors":[{"code":"DENIED"}]}', putStatus === 201 ? { 'docker-content-digest': DIGEST } : {})
    }
    return m[2] === DIGEST ? httpResponse(url.href, 200, request.method === 'HEAD' ? '' : RAW) : httpResponse(url.href, 404)
  }
}

function recordingLog(): PhaseLog & { lines: string[] } {
  const lines: string[] = []
  return { lines, info: message => lines.push(message), warning: message => lines.push(`warning: ${message}`) }
}

let dockerConfig: string
beforeEach(() => {
  dockerConfig = mkdtempSync(path.join(os.tmpdir(), 'tagging-'))
  const auth = Buffer.from('ci:secret').toString('base64')
  writeFileSync(path.join(dockerConfig, 'config.json'), JSON.stringify({ auths: { '127.0.0.1:5999': { auth }, '127.0.0.1:5998': { auth } } }))
})
afterEach(() => rmSync(dockerConfig, { recursive: true, force: true }))

describe('tagIndex', () => {
  test.each<['basic' | 'bearer']>([['basic'], ['bearer']])('PUTs the index under each tag over the registry API (%s auth), with no docker call', async auth => {
    const seen: Seen[] = []
    const clientFor = registryClients({ http: fakeRegistry(auth, seen), dockerConfig })
    const docker = new RecordingDocker()
    const log = recordingLog()
    const refs = ['127.0.0.1:5999/acme/app:1.2', '127.0.0.1:5999/acme/app:1', '127.0.0.1:5999/acme/app:latest', '127.0.0.1:5998/acme/app:1.2']
    await tagIndex(docker, 'b1', { image: '127.0.0.1:5999/acme/app', digest: DIGEST }, refs, clientFor, log)

    expect(docker.calls).toEqual([])
    expect(log.lines).toEqual(refs)
    const puts = seen.filter(r => r.method === 'PUT')
    expect(puts.map(r => r.url).sort()).toEqual(
      ['http://127.0.0.1:5999/v2/acme/app/manifests/1.2', 'http://127.0.0.1:5999/v2/acme/app/manifests/1', 'http://127.0.0.1:5999/v2/acme/app/manifests/latest', 'http://127.0.0.1:5998/v2/acme/app/manifests/1.2'].sort()
    )
    for (const put of puts) expect({ contentType: put.contentType, body: put.body }).toEqual({ contentType: OCI_INDEX, body: RAW })
    // Each repository's index is read once, and its challenge asked once.
    expect(seen.filter(r => r.method === 'GET' && r.url.endsWith(`/manifests/${DIGEST}`)).map(r => new URL(r.url).host).sort()).toEqual(['127.0.0.1:5998', '127.0.0.1:5999'])
    expect(seen.filter(r => r.method === 'HEAD').length).toBe(2)
    if (auth === 'bearer') {
      const scopes = seen.filter(r => r.url.includes('/token')).map(r => new URL(r.url).searchParams.get('scope'))
      // A read token and a push token for each repository.
      expect(scopes.sort()).toEqual(['repository:acme/app:pull', 'repository:acme/app:pull', 'repository:acme/app:pull,push', 'repository:acme/app:pull,push'])
      for (const put of puts) expect(put.authorization).toBe('Bearer token-for-repository:acme/app:pull,push')
    }
  })

  test('a registry that refuses the PUT leaves the tags to imagetools create, all of them', async () => {
    const seen: Seen[] = []
    const clientFor = registryClients({ http: fakeRegistry('basic', seen, 403), dockerConfig })
    const docker = new RecordingDocker(ok())
    const log = recordingLog()
    const refs = ['127.0.0.1:5999/acme/app:1.2', '127.0.0.1:5999/acme/app:latest']
    await tagIndex(docker, 'b1', { image: '127.0.0.1:5999/acme/app', digest: DIGEST }, refs, clientFor, log)

    expect(docker.calls.map(c => [c.via, ...c.args])).toEqual([
      ['buildx', 'imagetools', 'create', '--builder', 'b1', '--tag', refs[0]!, '--tag', refs[1]!, `127.0.0.1:5999/acme/app@${DIGEST}`]
    ])
    expect(log.lines[0]).toMatch(/^the tags are added with imagetools: the registry API did not take them \(PUT http:\/\/127\.0\.0\.1:5999\/v2\/acme\/app\/manifests\/(1\.2|latest) answered 403: /)
    expect(log.lines.slice(1)).toEqual(refs)
  })

  test('without credentials for the registry, imagetools create tags', async () => {
    const seen: Seen[] = []
    writeFileSync(path.join(dockerConfig, 'config.json'), '{"auths":{}}')
    const clientFor = registryClients({ http: fakeRegistry('basic', seen), dockerConfig })
    const docker = new RecordingDocker(ok())
    const log = recordingLog()
    await tagIndex(docker, 'b1', { image: '127.0.0.1:5999/acme/app', digest: DIGEST }, ['127.0.0.1:5999/acme/app:1'], clientFor, log)
    expect(docker.calls).toHaveLength(1)
    expect(log.lines[0]).toContain('needs a login: no credentials for 127.0.0.1:5999 in the Docker config')
    expect(seen.filter(r => r.method === 'PUT')).toEqual([])
  })
})
