import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Docker, ExecResult, RunOptions } from '../../src/docker.js'
import type { HttpClient } from '../../src/http.js'
import {
  checkConfigs,
  describeElf,
  describeScan,
  elfArchitecture,
  elfFits,
  manifestCheck,
  readElfHeader,
  readTar,
  scanElf,
  smokeArgs,
  smokeTest,
  type TarEntry
} from '../../src/verify.js'
import { dockerCredentials, parseImageRef, RegistryClient } from '../../src/registry.js'
import { httpResponse } from '../fixtures/http.js'

const BUILDX = new URL('../fixtures/buildx/', import.meta.url)
const VERIFY = new URL('../fixtures/verify/', import.meta.url)
const fixture = (dir: URL, name: string): string => readFileSync(new URL(name, dir), 'utf8')

/** The first bytes of an ELF file, written byte by byte as the ELF spec lays them out. */
function elf(bits: 32 | 64, endian: 'little' | 'big', type: number, machine: number, length = 64): Buffer {
  const b = Buffer.alloc(length)
  b.set([0x7f, 0x45, 0x4c, 0x46, bits === 64 ? 2 : 1, endian === 'little' ? 1 : 2, 1], 0)
  if (endian === 'little') {
    b.writeUInt16LE(type, 16)
    b.writeUInt16LE(machine, 18)
  } else {
    b.writeUInt16BE(type, 16)
    b.writeUInt16BE(machine, 18)
  }
  return b
}
const X86_64 = elf(64, 'little', 3, 62)
const AARCH64 = elf(64, 'little', 2, 183)

// ---------------------------------------------------------------------------------------------

describe('checkConfigs on captured imagetools output', () => {
  const expected = (shape: string): Record<string, string> =>
    (JSON.parse(fixture(BUILDX, `${shape}.expected.json`)) as { platforms: Record<string, string> }).platforms

  test.each(['attestations', 'manifest-list'])('%s: every config matches its entry', shape => {
    const digests = expected(shape)
    const check = checkConfigs(fixture(VERIFY, `${shape}.image.json`), digests)
    expect(check).toEqual({
      ok: true,
      checks: Object.entries(digests).map(([platform, digest]) => ({ platform, digest, config: platform, ok: true })),
      problems: []
    })
  })

  test('single manifest: the bare config is the one platform', () => {
    const check = checkConfigs(fixture(VERIFY, 'single.image.json'), { 'linux/amd64': 'sha256:02d5' })
    expect(check.ok).toBe(true)
    expect(checkConfigs(fixture(VERIFY, 'single.image.json'), { 'linux/arm64': 'sha256:02d5' }).problems).toEqual([
      'linux/arm64 (sha256:02d5) is an image whose config says linux/amd64: the index entry names the wrong platform'
    ])
  })

  test('an index whose arm64 entry points at the amd64 image', () => {
    const raw = JSON.parse(fixture(VERIFY, 'wrong-arm64.raw.json')) as { manifests: Array<{ digest: string; platform: { architecture: string; variant?: string } }> }
    const digests = Object.fromEntries(
      raw.manifests.map(m => [`linux/${m.platform.architecture}${m.platform.variant ? `/${m.platform.variant}` : ''}`, m.digest])
    )
    const check = checkConfigs(fixture(VERIFY, 'wrong-arm64.image.json'), digests)
    expect(check.ok).toBe(false)
    expect(check.checks.map(c => [c.platform, c.config, c.ok])).toEqual([
      ['linux/amd64', 'linux/amd64', true],
      ['linux/arm64', 'linux/amd64', false],
      ['linux/arm/v7', 'linux/arm/v7', true]
    ])
    expect(check.problems).toEqual([`linux/arm64 (${digests['linux/arm64']}) is an image whose config says linux/amd64: the index entry names the wrong platform`])
  })

  test('a platform the output lacks', () => {
    const check = checkConfigs(fixture(VERIFY, 'attestations.image.json'), { 'linux/s390x': 'sha256:9' })
    expect(check.problems).toEqual(['linux/s390x (sha256:9) has no image config in the index'])
  })

  test('one config for several platforms is an error', () => {
    expect(() => checkConfigs(fixture(VERIFY, 'single.image.json'), { 'linux/amd64': 'a', 'linux/arm64': 'b' })).toThrow(
      'imagetools printed a single image config, but 2 platforms were pushed (linux/amd64, linux/arm64)'
    )
  })

  test('manifestCheck reads each platform manifest and its config over the registry API', async () => {
    const requests: string[] = []
    const amd64Config = { os: 'linux', architecture: 'amd64' }
    const routes: Record<string, unknown> = {
      '/v2/app/manifests/sha256:a': { config: { digest: 'sha256:ca' } },
      '/v2/app/manifests/sha256:b': { config: { digest: 'sha256:cb' } },
      '/v2/app/blobs/sha256:ca': amd64Config,
      // The arm64 entry of this index points at an amd64 image.
      '/v2/app/blobs/sha256:cb': amd64Config
    }
    const fakeHttp: HttpClient = async (input, request) => {
      const url = new URL(String(input))
      requests.push(`${request?.method ?? 'GET'} ${url.pathname}`)
      const body = routes[url.pathname]
      return body === undefined ? httpResponse(url.href, 404, 'not found') : httpResponse(url.href, 200, JSON.stringify(body))
    }
    const check = await manifestCheck('127.0.0.1:5999/app', { 'linux/amd64': 'sha256:a', 'linux/arm64': 'sha256:b' }, { http: fakeHttp })
    expect(check.problems).toEqual(['linux/arm64 (sha256:b) is an image whose config says linux/amd64: the index entry names the wrong platform'])
    expect(requests.sort()).toEqual(
      ['HEAD /v2/app/manifests/sha256:a', 'GET /v2/app/manifests/sha256:a', 'GET /v2/app/manifests/sha256:b', 'GET /v2/app/blobs/sha256:ca', 'GET /v2/app/blobs/sha256:cb'].sort()
    )
  })
})

// ---------------------------------------------------------------------------------------------

describe('ELF headers', () => {
  test.each<[string, Buffer, string | undefined, string]>([
    ['amd64', elf(64, 'little', 2, 62), 'amd64', 'ELF 64-bit LSB x86-64'],
    ['386', elf(32, 'little', 2, 3), '386', 'ELF 32-bit LSB Intel 80386'],
    ['arm64', elf(64, 'little', 3, 183), 'arm64', 'ELF 64-bit LSB AArch64'],
    ['arm', elf(32, 'little', 2, 40), 'arm', 'ELF 32-bit LSB ARM'],
    ['ppc64le', elf(64, 'little', 2, 21), 'ppc64le', 'ELF 64-bit LSB PowerPC64 little-endian'],
    ['s390x', elf(64, 'big', 2, 22), 's390x', 'ELF 64-bit MSB IBM S/390'],
    ['riscv64', elf(64, 'little', 3, 243), 'riscv64', 'ELF 64-bit LSB RISC-V'],
    ['32-bit x86-64 (x32) is no platform', elf(32, 'little', 2, 62), undefined, 'ELF 32-bit LSB machine 62']
  ])('%s', (_name, head, arch, description) => {
    const header = readElfHeader(head)!
    expect(elfArchitecture(header)).toBe(arch)
    expect(describeElf(header)).toBe(description)
  })

  test.each<[string, Buffer | Uint8Array]>([
    ['too short', X86_64.subarray(0, 19)],
    ['no magic', Buffer.from('#!/bin/sh\necho not an elf file')],
    ['bad class', Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 3, 1]), Buffer.alloc(20)])]
  ])('%s is no ELF', (_name, head) => {
    expect(readElfHeader(head)).toBeUndefined()
  })

  test.each<[string, Buffer, string, boolean | undefined]>([
    ['x86-64 PIE in amd64', X86_64, 'linux/amd64', true],
    ['x86-64 PIE in arm64', X86_64, 'linux/arm64', false],
    ['AArch64 in arm64/v8', AARCH64, 'linux/arm64/v8', true],
    ['ARM in arm/v7', elf(32, 'little', 2, 40), 'linux/arm/v7', true],
    ['ARM in arm64', elf(32, 'little', 2, 40), 'linux/arm64', false],
    ['s390x little-endian is wrong', elf(64, 'little', 2, 22), 'linux/s390x', false],
    ['relocatable objects do not count', elf(64, 'little', 1, 62), 'linux/arm64', undefined],
    ['core files do not count', elf(64, 'little', 4, 62), 'linux/arm64', undefined],
    ['unknown platform', X86_64, 'linux/wasm', undefined]
  ])('%s', (_name, head, platform, fits) => {
    const [os = '', architecture = '', variant] = platform.split('/')
    expect(elfFits(readElfHeader(head)!, variant ? { os, architecture, variant } : { os, architecture })).toBe(fits)
  })
})

// ---------------------------------------------------------------------------------------------

const LONG_DIR = `deep/${'d'.repeat(60)}/${'e'.repeat(60)}`
const LONG_NAME = `${LONG_DIR}/${'f'.repeat(40)}-x86_64`

let work: string
/** Layer trees built with GNU tar in the formats layers come in. */
const tars: Record<string, Buffer> = {}

function tree(name: string, files: Record<string, Buffer | string>): string {
  const root = path.join(work, name)
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true })
    writeFileSync(path.join(root, file), content)
  }
  return root
}

function tar(root: string, format: string): Buffer {
  return execFileSync('tar', ['-C', root, `--format=${format}`, '--sort=name', '-cf', '-', '.'], { maxBuffer: 64 << 20 })
}

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'verify-unit-'))
  const lower = tree('lower', {
    'bin/good': AARCH64,
    'bin/bad': X86_64,
    'bin/replaced': X86_64,
    'usr/lib/libgone.so': X86_64,
    'opt/dir/old': X86_64,
    'etc/text': 'hello\n',
    'obj.o': elf(64, 'little', 1, 62),
    empty: '',
    [LONG_NAME]: X86_64
  })
  const upper = tree('upper', {
    'usr/lib/.wh.libgone.so': '',
    'opt/dir/.wh..wh..opq': '',
    'opt/dir/new': AARCH64,
    'bin/replaced': AARCH64
  })
  tars.gnu = tar(lower, 'gnu')
  tars.pax = tar(lower, 'pax')
  tars.ustar = tar(lower, 'ustar')
  tars.upper = tar(upper, 'gnu')
})

afterAll(() => {
  rmSync(work, { recursive: true, force: true })
})

async function* chunks(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size)
}

async function entries(data: Buffer, chunkSize: number): Promise<Array<[string, string, number, string]>> {
  const out: Array<[string, string, number, string]> = []
  await readTar(chunks(data, chunkSize), (e: TarEntry) => out.push([e.path, e.type, e.size, e.head ? e.head.subarray(0, 4).toString('hex') : '-']))
  return out
}

describe('readTar', () => {
  const expected: Array<[string, string, number, string]> = [
    ['', '5', 0, '-'],
    ['bin', '5', 0, '-'],
    ['bin/bad', '0', 64, '7f454c46'],
    ['bin/good', '0', 64, '7f454c46'],
    ['bin/replaced', '0', 64, '7f454c46'],
    ['deep', '5', 0, '-'],
    [`deep/${'d'.repeat(60)}`, '5', 0, '-'],
    [LONG_DIR, '5', 0, '-'],
    [LONG_NAME, '0', 64, '7f454c46'],
    ['empty', '0', 0, ''],
    ['etc', '5', 0, '-'],
    ['etc/text', '0', 6, '68656c6c'],
    ['obj.o', '0', 64, '7f454c46'],
    ['opt', '5', 0, '-'],
    ['opt/dir', '5', 0, '-'],
    ['opt/dir/old', '0', 64, '7f454c46'],
    ['usr', '5', 0, '-'],
    ['usr/lib', '5', 0, '-'],
    ['usr/lib/libgone.so', '0', 64, '7f454c46']
  ]

  test.each<[string, number]>([
    ['gnu', 65536],
    ['gnu', 7],
    ['gnu', 1],
    ['pax', 511],
    ['ustar', 513]
  ])('%s format in %i-byte chunks', async (format, size) => {
    expect(await entries(tars[format]!, size)).toEqual(expected)
  })

  test('a truncated stream is an error', async () => {
    await expect(entries(tars.gnu!.subarray(0, 2048 + 100), 4096)).rejects.toThrow('the tar stream ends inside an entry (truncated layer)')
  })

  test('bytes that are not a tar stream', async () => {
    await expect(entries(gzipSync(tars.gnu!), 4096)).rejects.toThrow('bad tar header checksum')
  })
})

// ---------------------------------------------------------------------------------------------

describe('parseImageRef', () => {
  test.each<[string, ReturnType<typeof parseImageRef>]>([
    ['127.0.0.1:5000/e2e/app@sha256:abc', { registry: '127.0.0.1:5000', repository: 'e2e/app', reference: 'sha256:abc' }],
    ['127.0.0.1:5000/e2e/app:1.2@sha256:abc', { registry: '127.0.0.1:5000', repository: 'e2e/app', reference: 'sha256:abc' }],
    ['ghcr.io/Owner/App:1.2', { registry: 'ghcr.io', repository: 'owner/app', reference: '1.2' }],
    ['busybox', { registry: 'docker.io', repository: 'library/busybox', reference: 'latest' }],
    ['user/app@sha256:1', { registry: 'docker.io', repository: 'user/app', reference: 'sha256:1' }],
    ['docker.io/busybox:1.36', { registry: 'docker.io', repository: 'library/busybox', reference: '1.36' }],
    ['localhost/app', { registry: 'localhost', repository: 'app', reference: 'latest' }]
  ])('%s', (ref, expected) => {
    expect(parseImageRef(ref)).toEqual(expected)
  })
})

describe('dockerCredentials', () => {
  test.each<[string, Record<string, unknown>, ReturnType<typeof dockerCredentials>]>([
    ['auth field', { '127.0.0.1:5000': { auth: Buffer.from('user:pa:ss').toString('base64') } }, { username: 'user', password: 'pa:ss' }],
    ['scheme and path in the key', { 'https://127.0.0.1:5000/v2/': { username: 'u', password: 'p' } }, { username: 'u', password: 'p' }],
    ['identity token', { '127.0.0.1:5000': { identitytoken: 'refresh' } }, { identityToken: 'refresh' }],
    ['another host', { 'ghcr.io': { auth: 'eDp5' } }, undefined]
  ])('%s', (_name, auths, expected) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dockercfg-'))
    try {
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths }))
      expect(dockerCredentials('127.0.0.1:5000', dir)).toEqual(expected)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('Docker Hub credentials live under the index URL', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dockercfg-'))
    try {
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('hub:tok').toString('base64') } } }))
      expect(dockerCredentials('docker.io', dir)).toEqual({ username: 'hub', password: 'tok' })
      expect(dockerCredentials('127.0.0.1:5000', path.join(dir, 'missing'))).toBeUndefined()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

// ---------------------------------------------------------------------------------------------

interface Blob {
  data: Buffer
  mediaType: string
}

/** A registry answering blob requests behind a Bearer token service, like Docker Hub or ghcr.io. */
async function tokenRegistry(
  blobs: Record<string, Blob>,
  user: string,
  password: string,
  manifests: Record<string, unknown> = {}
): Promise<{ host: string; log: string[]; close: () => Promise<void> }> {
  const log: string[] = []
  const token = 'tok-' + createHash('sha256').update(user).digest('hex').slice(0, 8)
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    log.push(`${req.method} ${url.pathname}${url.search}`)
    if (url.pathname === '/token') {
      const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
      if (req.headers.authorization !== expected || url.searchParams.get('scope') !== 'repository:acme/app:pull' || url.searchParams.get('service') !== 'test') {
        res.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED"}]}')
        return
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ access_token: token }))
      return
    }
    const m = /^\/v2\/acme\/app\/blobs\/(sha256:[0-9a-f]+)$/.exec(url.pathname)
    if (req.headers.authorization !== `Bearer ${token}`) {
      const address = server.address() as AddressInfo
      res.writeHead(401, {
        'WWW-Authenticate': `Bearer realm="http://127.0.0.1:${address.port}/token",service="test",scope="repository:acme/app:pull"`
      })
      res.end()
      return
    }
    const manifest = /^\/v2\/acme\/app\/manifests\/(.+)$/.exec(url.pathname)
    if (manifest) {
      const body = manifests[manifest[1]!]
      if (body === undefined) res.writeHead(404).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
      else res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }).end(req.method === 'HEAD' ? undefined : JSON.stringify(body))
      return
    }
    const blob = m ? blobs[m[1]!] : undefined
    if (!blob) {
      res.writeHead(404).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}')
      return
    }
    res.writeHead(200, { 'Content-Length': blob.data.length })
    // Small writes, so the reader sees blocks split across chunks.
    let off = 0
    const pump = (): void => {
      while (off < blob.data.length) {
        const ok = res.write(blob.data.subarray(off, off + 1000))
        off += 1000
        if (!ok) {
          res.once('drain', pump)
          return
        }
      }
      res.end()
    }
    if (req.method === 'HEAD') res.end()
    else pump()
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return { host: `127.0.0.1:${port}`, log, close: () => new Promise(resolve => server.close(() => resolve())) }
}

function digestOf(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`
}

describe('scanElf against a registry with token auth', () => {
  let dockerConfig: string
  beforeAll(() => {
    dockerConfig = mkdtempSync(path.join(os.tmpdir(), 'dockercfg-'))
  })
  afterAll(() => rmSync(dockerConfig, { recursive: true, force: true }))

  async function scan(layers: Blob[], platform: string, options: { concurrency?: number } = {}) {
    const blobs = Object.fromEntries(layers.map(l => [digestOf(l.data), l]))
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: 'sha256:c', size: 1 },
      layers: layers.map(l => ({ mediaType: l.mediaType, digest: digestOf(l.data), size: l.data.length }))
    }
    const registry = await tokenRegistry(blobs, 'robot', 's3cret', { 'sha256:feed': manifest })
    writeFileSync(path.join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('robot:s3cret').toString('base64') } } }))
    const ref = `${registry.host}/acme/app@sha256:feed`
    try {
      const result = await scanElf(ref, platform, { dockerConfig, ...options })
      return { result, log: registry.log, ref, digests: layers.map(l => digestOf(l.data)) }
    } finally {
      await registry.close()
    }
  }

  test('foreign binaries that survive the upper layer are reported with path and layer', async () => {
    const lower = { data: gzipSync(tars.gnu!), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }
    const upper = { data: tars.upper!, mediaType: 'application/vnd.oci.image.layer.v1.tar' }
    const { result, log, digests } = await scan([lower, upper], 'linux/arm64')
    // The manifest and the layers, all over the registry API: no docker call.
    expect(log.filter(l => l.startsWith('GET /v2/')).sort()).toEqual(
      ['GET /v2/acme/app/manifests/sha256:feed', ...digests.map(d => `GET /v2/acme/app/blobs/${d}`)].sort()
    )
    expect(result.mismatches).toEqual([
      { path: '/bin/bad', layer: digests[0], found: 'ELF 64-bit LSB x86-64', foundPlatform: 'linux/amd64' },
      { path: `/${LONG_NAME}`, layer: digests[0], found: 'ELF 64-bit LSB x86-64', foundPlatform: 'linux/amd64' }
    ])
    expect([result.platform, result.layers, result.files, result.elfFiles, result.skipped]).toEqual(['linux/arm64', 2, 11, 8, []])
    expect(result.bytes).toBe(lower.data.length + upper.data.length)
    // One challenge and one token for the whole scan, however many layers.
    expect(log.filter(l => l.startsWith('GET /token'))).toHaveLength(1)
    expect(log.filter(l => l.startsWith('HEAD '))).toHaveLength(1)
    expect(describeScan(result).slice(1)).toEqual([
      `  /bin/bad: ELF 64-bit LSB x86-64 (linux/amd64), not linux/arm64; layer ${digests[0]}`,
      `  /${LONG_NAME}: ELF 64-bit LSB x86-64 (linux/amd64), not linux/arm64; layer ${digests[0]}`
    ])
  })

  test('the same image is clean for amd64 but for the arm64 binaries', async () => {
    const lower = { data: gzipSync(tars.pax!), mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' }
    const { result } = await scan([lower], 'linux/amd64', { concurrency: 1 })
    expect(result.mismatches.map(m => [m.path, m.found])).toEqual([['/bin/good', 'ELF 64-bit LSB AArch64']])
  })

  test('an uncompressed layer larger than one chunk is read whole', async () => {
    const padding = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`pad/${i}.bin`, Buffer.alloc(4096, i)]))
    const big = tar(tree('big', { ...padding, 'z/last-x86': X86_64 }), 'gnu')
    const { result } = await scan([{ data: big, mediaType: 'application/vnd.oci.image.layer.v1.tar' }], 'linux/arm64')
    expect([result.files, result.bytes, result.mismatches.map(m => m.path)]).toEqual([301, big.length, ['/z/last-x86']])
  })

  test('an unreadable layer is listed as skipped, not fatal', async () => {
    const lower = { data: gzipSync(tars.gnu!), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }
    const broken = { data: Buffer.from('not gzip at all'), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }
    const foreign = { data: Buffer.from('{}'), mediaType: 'application/vnd.in-toto+json' }
    const { result, digests } = await scan([lower, broken, foreign], 'linux/arm64')
    // Without the upper layer nothing hides the lower layer's x86-64 files.
    expect(result.mismatches.map(m => m.path)).toEqual(['/bin/bad', '/bin/replaced', `/${LONG_NAME}`, '/opt/dir/old', '/usr/lib/libgone.so'])
    expect(result.skipped.map(s => s.digest).sort()).toEqual([digests[1], digests[2]].sort())
    expect(result.skipped.find(s => s.digest === digests[2])!.reason).toBe('not a filesystem layer (application/vnd.in-toto+json)')
  })

  test('an index instead of a platform manifest', async () => {
    const index = JSON.parse(fixture(BUILDX, 'attestations.raw.json')) as unknown
    const registry = await tokenRegistry({}, 'robot', 's3cret', { 'sha256:1': index })
    writeFileSync(path.join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('robot:s3cret').toString('base64') } } }))
    try {
      await expect(scanElf(`${registry.host}/acme/app@sha256:1`, 'linux/arm64', { dockerConfig })).rejects.toThrow(
        `${registry.host}/acme/app@sha256:1 is not an image manifest: pass the digest of one platform's manifest, not the index`
      )
    } finally {
      await registry.close()
    }
  })
})

describe('RegistryClient', () => {
  test('basic auth from the Docker config', async () => {
    const seen: Array<string | undefined> = []
    const server = http.createServer((req, res) => {
      seen.push(req.headers.authorization)
      if (!req.headers.authorization) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="Registry Realm"' }).end()
        return
      }
      res.writeHead(200).end('blob')
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dockercfg-'))
    try {
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths: { [host]: { auth: Buffer.from('u:p').toString('base64') } } }))
      const res = await new RegistryClient(host, 'acme/app', { dockerConfig: dir }).blob('sha256:1')
      expect(await res.text()).toBe('blob')
      expect(seen).toEqual([undefined, `Basic ${Buffer.from('u:p').toString('base64')}`])
      await expect(new RegistryClient(host, 'acme/app', { dockerConfig: path.join(dir, 'none') }).blob('sha256:1')).rejects.toThrow(
        `http://${host}/v2/acme/app/blobs/sha256:1 needs a login: no credentials for ${host} in the Docker config`
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
      await new Promise(resolve => server.close(resolve))
    }
  })
})

// ---------------------------------------------------------------------------------------------

describe('smokeArgs', () => {
  const ref = 'r.example/app@sha256:1'
  const base = ['run', '--rm', '--name', 'n', '--platform', 'linux/arm64', '--pull', 'never']
  test.each<[string, string[], 'exec' | 'shell']>([
    ['/app --version', [...base, '--entrypoint', '/app', ref, '--version'], 'exec'],
    ['  app   -v  ', [...base, '--entrypoint', 'app', ref, '-v'], 'exec'],
    ['/app --config=/etc/app.yaml check', [...base, '--entrypoint', '/app', ref, '--config=/etc/app.yaml', 'check'], 'exec'],
    ['/app --version | grep 1.2', [...base, '--entrypoint', '/bin/sh', ref, '-c', '/app --version | grep 1.2'], 'shell'],
    ['test "$(uname -m)" = aarch64', [...base, '--entrypoint', '/bin/sh', ref, '-c', 'test "$(uname -m)" = aarch64'], 'shell'],
    ['DEBUG=1 /app', [...base, '--entrypoint', '/bin/sh', ref, '-c', 'DEBUG=1 /app'], 'shell'],
    ['ls /usr/lib/*.so', [...base, '--entrypoint', '/bin/sh', ref, '-c', 'ls /usr/lib/*.so'], 'shell']
  ])('%s', (command, args, mode) => {
    expect(smokeArgs(ref, 'linux/arm64', command, 'n')).toEqual({ args, mode })
  })
})

/** A docker whose `run` hangs until `rm --force` removes the container, like a hung command. */
class HangingDocker implements Docker {
  calls: string[][] = []
  private release?: (r: ExecResult) => void
  constructor(private readonly runResult?: ExecResult) {}
  run(args: string[], _options?: RunOptions): Promise<ExecResult> {
    this.calls.push(args)
    if (args[0] === 'pull') return Promise.resolve({ exitCode: 0, stdout: 'ok\n', stderr: '' })
    if (args[0] === 'rm') {
      this.release?.({ exitCode: 137, stdout: 'started\n', stderr: '' })
      return Promise.resolve({ exitCode: 0, stdout: '', stderr: '' })
    }
    if (this.runResult) return Promise.resolve(this.runResult)
    return new Promise(resolve => (this.release = resolve))
  }
  buildx(): Promise<ExecResult> {
    throw new Error('no buildx expected')
  }
}

describe('smokeTest', () => {
  test('a command that outlives its timeout is removed and reported as timed out', async () => {
    const docker = new HangingDocker()
    const result = await smokeTest(docker, 'r.example/app@sha256:1', 'linux/arm64', 'sleep 60', 0.05, { name: 'smoke-1' })
    expect(docker.calls).toEqual([
      ['pull', '--quiet', '--platform', 'linux/arm64', 'r.example/app@sha256:1'],
      smokeArgs('r.example/app@sha256:1', 'linux/arm64', 'sleep 60', 'smoke-1').args,
      ['rm', '--force', 'smoke-1']
    ])
    expect({ ...result, durationMs: 0 }).toEqual({
      platform: 'linux/arm64',
      ok: false,
      exitCode: 137,
      timedOut: true,
      output: 'started',
      durationMs: 0,
      mode: 'exec',
      message: 'Smoke test on linux/arm64 timed out: `sleep 60` was still running after 0.05s and its container was removed. Last output:\nstarted'
    })
  })

  test('a failing command reports platform, exit code and output', async () => {
    const docker = new HangingDocker({ exitCode: 3, stdout: 'line 1\n', stderr: 'boom\n' })
    const result = await smokeTest(docker, 'r.example/app@sha256:1', 'linux/arm/v7', '/app --version', 10, { name: 's' })
    expect([result.ok, result.exitCode, result.timedOut, result.output]).toEqual([false, 3, false, 'line 1\nboom'])
    expect(result.message).toBe('Smoke test on linux/arm/v7 failed: `/app --version` exited with 3. Last output:\nline 1\nboom')
  })

  test('a shell command in an image without a shell says how to avoid the shell', async () => {
    const stderr = 'docker: Error response from daemon: failed to create task for container: exec: "/bin/sh": stat /bin/sh: no such file or directory: unknown.\n'
    const docker = new HangingDocker({ exitCode: 127, stdout: '', stderr })
    const result = await smokeTest(docker, 'r.example/app@sha256:1', 'linux/amd64', '/app --version | head -1', 10, { name: 's' })
    expect(result.message).toContain('The image has no /bin/sh: write the command as plain words')
  })

  test('a passing command', async () => {
    const docker = new HangingDocker({ exitCode: 0, stdout: 'v1.2.3\n', stderr: '' })
    const result = await smokeTest(docker, 'r.example/app@sha256:1', 'linux/amd64', '/app --version', 10, { name: 's' })
    expect([result.ok, result.exitCode, result.output, result.mode]).toEqual([true, 0, 'v1.2.3', 'exec'])
    expect(result.message).toMatch(/^Smoke test on linux\/amd64 passed \(\d+\.\ds\)$/)
  })
})
