import { readFileSync } from 'node:fs'
import type { HttpClient } from '../../src/http.js'
import type { PhaseLog } from '../../src/phases.js'
import { parsePlatforms } from '../../src/platforms.js'
import { readDigests } from '../../src/publish.js'
import { RegistryClient } from '../../src/registry.js'
import { ok, RecordingDocker } from '../fixtures/cli.js'
import { httpResponse } from '../fixtures/http.js'

// The index of three platforms with attestations that buildx pushed, as the registry stores it.
const FIXTURES = new URL('../fixtures/buildx/', import.meta.url)
const RAW = readFileSync(new URL('attestations.raw.json', FIXTURES), 'utf8')
const DIGEST = (JSON.parse(readFileSync(new URL('attestations.metadata.json', FIXTURES), 'utf8')) as Record<string, string>)['containerimage.digest']!
const EXPECTED = (JSON.parse(readFileSync(new URL('attestations.expected.json', FIXTURES), 'utf8')) as { platforms: Record<string, string> }).platforms
const PLATFORMS = parsePlatforms(['linux/amd64', 'linux/arm64', 'linux/arm/v7'])
const IMAGE = '127.0.0.1:5999/acme/app'
const INSPECT = ['imagetools', 'inspect', '--builder', 'b1', '--raw', `${IMAGE}@${DIGEST}`]

type Seen = Array<{ method: string; path: string; agent?: string }>

/** A registry that needs no login and answers the index by its digest with `body`, or 404 without one. */
function registryAnswering(body: string | undefined, seen: Seen): RegistryClient {
  const http: HttpClient = async (input, request = {}) => {
    const url = new URL(String(input))
    seen.push({ method: request.method ?? 'GET', path: url.pathname, agent: request.headers?.['User-Agent'] })
    if (body !== undefined && url.pathname === `/v2/acme/app/manifests/${DIGEST}`) return httpResponse(url.href, 200, request.method === 'HEAD' ? '' : body)
    return httpResponse(url.href, 404, '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
  }
  return new RegistryClient('127.0.0.1:5999', 'acme/app', { http })
}

function recordingLog(): PhaseLog & { lines: string[] } {
  const lines: string[] = []
  return { lines, info: message => lines.push(message), warning: message => lines.push(`warning: ${message}`) }
}

describe('readDigests', () => {
  test('reads the index over the registry API when it can, and no docker call is made', async () => {
    const seen: Seen = []
    const docker = new RecordingDocker()
    const log = recordingLog()
    const digests = await readDigests(docker, 'b1', `${IMAGE}@${DIGEST}`, DIGEST, PLATFORMS, registryAnswering(RAW, seen), log)
    expect(digests).toEqual(EXPECTED)
    expect(docker.calls).toEqual([])
    expect(log.lines).toEqual([])
    expect(seen.map(r => `${r.method} ${r.path}`)).toEqual([`HEAD /v2/acme/app/manifests/${DIGEST}`, `GET /v2/acme/app/manifests/${DIGEST}`])
    expect(new Set(seen.map(r => r.agent))).toEqual(new Set(['multiarch-release']))
  })

  test.each<[string, (seen: Seen) => RegistryClient | undefined, string | undefined]>([
    ['bytes that are not the pushed digest are not trusted', seen => registryAnswering(`${RAW}\n`, seen), 'answered a manifest whose digest is sha256:'],
    ['a registry that does not have it', seen => registryAnswering(undefined, seen), 'answered 404'],
    ['no registry client (nothing pushed to read back)', () => undefined, undefined]
  ])('falls back to imagetools inspect: %s', async (_name, client, reason) => {
    const seen: Seen = []
    const docker = new RecordingDocker(ok(RAW))
    const log = recordingLog()
    const digests = await readDigests(docker, 'b1', `${IMAGE}@${DIGEST}`, DIGEST, PLATFORMS, client(seen), log)
    expect(digests).toEqual(EXPECTED)
    expect(docker.calls.map(c => [c.via, ...c.args])).toEqual([['buildx', ...INSPECT]])
    if (reason === undefined) expect(log.lines).toEqual([])
    else {
      expect(log.lines).toHaveLength(1)
      expect(log.lines[0]).toMatch(/^the index is read with imagetools: the registry API did not give it \(GET http:\/\/127\.0\.0\.1:5999\/v2\/acme\/app\/manifests\/sha256:[0-9a-f]{64} /)
      expect(log.lines[0]).toContain(reason)
    }
  })
})
