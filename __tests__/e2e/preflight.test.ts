// Preflight and verification against the real engine, buildx and registry: base images and
// compose images looked up with imagetools, layers read from the registry, containers run.
import { openSync, readSync, closeSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { sh } from '../../scripts/harness.js'
import { composeReport } from '../../src/compose.js'
import { DockerCli, type Docker } from '../../src/docker.js'
import { parseDockerfile } from '../../src/dockerfile.js'
import { hostPlatform, parsePlatforms } from '../../src/platforms.js'
import { baseImageReport, imagePlatforms, parseRawManifest } from '../../src/preflight.js'
import { elfArchitecture, manifestCheck, readElfHeader, scanElf, smokeTest } from '../../src/verify.js'
import { newDockerConfig, requireToolchain, tempDir, uniqueRepo } from './helpers.js'
import * as registry from './registry.js'

const tc = requireToolchain()
const auth: registry.Credentials = { user: tc.user, password: tc.password }
const TWO = parsePlatforms(['linux/amd64', 'linux/arm64'])
const TIMEOUT = 5 * 60 * 1000

let dockerConfig: string
let savedDockerConfig: string | undefined
let env: Record<string, string>
const cli = new DockerCli()
// The real exec seam; jest gives tests their own copy of process.env, which a spawned docker
// would not see, so the Docker config travels the way the seam offers: per-call env.
const docker: Docker = {
  run: (args, options = {}) => cli.run(args, { ...options, env: { ...options.env, ...env } }),
  buildx: (args, options = {}) => cli.buildx(args, { ...options, env: { ...options.env, ...env } })
}
/** Image references this suite put into the engine; removed at the end. */
const engineImages: string[] = []

/** host/repo of the base image without its tag, for name@digest references. */
const baseName = tc.baseImage.replace(/:[^/:]+$/, '')
let baseDigests: Record<string, string>
/** Pushed to the registry with auth: only linux/amd64 of the base image. */
let amd64Only: string
/** Pushed as a single linux/arm64 manifest whose /bad is the amd64 busybox. */
let bad: { image: string; digest: string; layers: string[] }

beforeAll(async () => {
  dockerConfig = newDockerConfig()
  env = { DOCKER_CONFIG: dockerConfig }
  // scanElf reads the credentials from DOCKER_CONFIG, as in the action.
  savedDockerConfig = process.env.DOCKER_CONFIG
  process.env.DOCKER_CONFIG = dockerConfig
  await sh('docker', ['login', tc.registry, '--username', tc.user, '--password-stdin'], { env, input: tc.password })

  const raw = parseRawManifest((await sh('docker', ['buildx', 'imagetools', 'inspect', '--raw', tc.baseImage], { env })).stdout)
  expect(raw).toEqual({ kind: 'index', platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'] })
  const index = JSON.parse((await sh('docker', ['buildx', 'imagetools', 'inspect', '--raw', tc.baseImage], { env })).stdout) as registry.ManifestJson
  baseDigests = Object.fromEntries((index.manifests ?? []).map(d => [registry.platformOf(d), d.digest]))

  amd64Only = `${tc.registry}/${uniqueRepo('amd64-only')}:1`
  await sh('docker', ['buildx', 'imagetools', 'create', '-t', amd64Only, `${baseName}@${baseDigests['linux/amd64']}`], { env })

  const work = tempDir('preflight-bad')
  const context = path.join(work, 'context')
  mkdirSync(context, { recursive: true })
  writeFileSync(
    path.join(context, 'Dockerfile'),
    ['ARG BASE', 'FROM --platform=linux/amd64 ${BASE} AS src', 'FROM ${BASE}', 'COPY --from=src /bin/busybox /bad', ''].join('\n')
  )
  const repo = uniqueRepo('arm64-with-x86')
  const image = `${tc.registry}/${repo}`
  const metadata = path.join(work, 'metadata.json')
  // The engine's own builder: no builder to create and remove, and COPY needs no emulation.
  await sh(
    'docker',
    ['buildx', 'build', '--builder', 'default', '--platform', 'linux/arm64', '--provenance=false', '--build-arg', `BASE=${tc.baseImage}`,
      '--tag', `${image}:bad`, '--metadata-file', metadata, '--push', context],
    { env }
  )
  // The smoke tests pull it by digest as well.
  engineImages.push(`${image}:bad`)
  const digest = (JSON.parse(readFileSync(metadata, 'utf8')) as Record<string, string>)['containerimage.digest']!
  engineImages.push(`${image}@${digest}`)
  const manifest = await registry.manifest(tc.registry, repo, digest, auth)
  bad = { image, digest, layers: (manifest.json.layers ?? []).map(l => l.digest) }
}, TIMEOUT)

afterAll(async () => {
  for (const ref of engineImages) await sh('docker', ['image', 'rm', '--force', ref], { env, allowFailure: true })
  await sh('docker', ['logout', tc.registry], { env, allowFailure: true })
  if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG
  else process.env.DOCKER_CONFIG = savedDockerConfig
}, TIMEOUT)

describe('base image report', () => {
  test('an amd64-only base image fails for linux/arm64, naming the image and the FROM line', async () => {
    const df = parseDockerfile(
      ['# syntax=docker/dockerfile:1', 'ARG BASE', '', 'FROM ${BASE} AS runtime', 'RUN true', ''].join('\n'),
      { buildArgs: [`BASE=${amd64Only}`] }
    )
    const report = await baseImageReport(docker, df, TWO, hostPlatform())
    expect(report.ok).toBe(false)
    expect(report.images).toEqual([{ image: amd64Only, needs: ['linux/amd64', 'linux/arm64'], has: ['linux/amd64'], missing: ['linux/arm64'], lines: [4] }])
    expect(report.problems.map(p => p.line)).toEqual([4])
    expect(report.problems[0]!.message).toContain(`${amd64Only} has no linux/arm64 image (it has linux/amd64)`)
    expect(report.markdown.split('\n')[2]).toBe(`| \`${amd64Only}\` | linux/amd64 | **linux/arm64** | 4 |`)
  }, TIMEOUT)

  test('the multi-platform base image passes; a $BUILDPLATFORM stage only needs the host; a missing image only warns', async () => {
    const missing = `${tc.registryNoAuth || tc.registry}/${uniqueRepo('does-not-exist')}:1`
    const df = parseDockerfile(
      [`FROM --platform=$BUILDPLATFORM ${amd64Only} AS build`, `FROM ${tc.baseImage}`, 'COPY --from=build /bin/busybox /x', `COPY --from=${missing} / /`, ''].join('\n')
    )
    const report = await baseImageReport(docker, df, parsePlatforms(['linux/amd64', 'linux/arm64', 'linux/arm/v7']), { os: 'linux', architecture: 'amd64' })
    expect(report.images.map(i => [i.image, i.needs, i.missing])).toEqual([
      [amd64Only, ['linux/amd64'], []],
      [tc.baseImage, ['linux/amd64', 'linux/arm64', 'linux/arm/v7'], []],
      [missing, ['linux/amd64', 'linux/arm64', 'linux/arm/v7'], []]
    ])
    expect(report.ok).toBe(true)
    expect(report.warnings.map(w => w.line)).toEqual([4])
    expect(report.warnings[0]!.message).toMatch(new RegExp(`^could not look up the platforms of ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*not found`))
  }, TIMEOUT)

  test('a single-manifest image: its platform comes from its config', async () => {
    expect(await imagePlatforms(docker, `${bad.image}@${bad.digest}`)).toEqual({ platforms: ['linux/arm64'] })
  }, TIMEOUT)
})

describe('compose file', () => {
  test('one amd64-only image: the table shows the gap and the result fails', async () => {
    const text = ['services:', '  app:', `    image: ${amd64Only}`, '  base:', '    image: ${BASE}', '  local:', '    build: .', ''].join('\n')
    const report = await composeReport(docker, text, TWO, { env: { BASE: tc.baseImage } })
    expect(report.ok).toBe(false)
    expect(report.problems).toEqual([`service app: ${amd64Only} has no linux/arm64 image (it has linux/amd64)`])
    expect(report.markdown).toBe(
      [
        '| service | image | linux/amd64 | linux/arm64 |',
        '| --- | --- | --- | --- |',
        `| app | \`${amd64Only}\` | yes | **missing** |`,
        `| base | \`${tc.baseImage}\` | yes | yes |`,
        '',
        '- local: built from source (build:), not pulled; skipped'
      ].join('\n')
    )
  }, TIMEOUT)
})

describe('manifest check', () => {
  test('a correct index passes; an index whose arm64 entry points at the amd64 image fails', async () => {
    const host = tc.registryNoAuth || tc.registry
    const repo = uniqueRepo('wrong-index')
    const good = `${host}/${repo}:good`
    await sh('docker', ['buildx', 'imagetools', 'create', '-t', good, tc.baseImage], { env })
    const index = await registry.manifest(host, repo, 'good', auth)
    const digests = Object.fromEntries((index.json.manifests ?? []).map(d => [registry.platformOf(d), d.digest]))
    expect((await manifestCheck(`${host}/${repo}`, digests, { dockerConfig })).ok).toBe(true)

    const wrong = {
      ...index.json,
      manifests: (index.json.manifests ?? []).map(d => (registry.platformOf(d) === 'linux/arm64' ? { ...d, digest: digests['linux/amd64']! } : d))
    }
    const body = JSON.stringify(wrong)
    const put = await fetch(`http://${host}/v2/${repo}/manifests/wrong`, {
      method: 'PUT',
      headers: {
        'Content-Type': index.mediaType,
        Authorization: `Basic ${Buffer.from(`${tc.user}:${tc.password}`).toString('base64')}`
      },
      body
    })
    expect(put.status).toBe(201)
    const wrongDigest = put.headers.get('docker-content-digest')!
    expect(wrongDigest).toMatch(/^sha256:/)
    const check = await manifestCheck(`${host}/${repo}`, { ...digests, 'linux/arm64': digests['linux/amd64']! }, { dockerConfig })
    expect(check.ok).toBe(false)
    expect(check.problems).toEqual([
      `linux/arm64 (${digests['linux/amd64']}) is an image whose config says linux/amd64: the index entry names the wrong platform`
    ])
  }, TIMEOUT)
})

describe('ELF scan', () => {
  test('real busybox binaries: amd64, arm64 and arm/v7 are told apart by their headers', async () => {
    const dir = tempDir('busybox-elf')
    const found: Record<string, string | undefined> = {}
    for (const platform of ['linux/amd64', 'linux/arm64', 'linux/arm/v7']) {
      const ref = `${baseName}@${baseDigests[platform]}`
      const id = (await sh('docker', ['create', '--platform', platform, ref], { env })).stdout.trim()
      try {
        const file = path.join(dir, platform.replace(/\//g, '-'))
        await sh('docker', ['cp', `${id}:/bin/busybox`, file], { env })
        const head = Buffer.alloc(20)
        const fd = openSync(file, 'r')
        readSync(fd, head, 0, 20, 0)
        closeSync(fd)
        found[platform] = elfArchitecture(readElfHeader(head)!)
      } finally {
        await sh('docker', ['rm', '--force', id], { env, allowFailure: true })
      }
    }
    expect(found).toEqual({ 'linux/amd64': 'amd64', 'linux/arm64': 'arm64', 'linux/arm/v7': 'arm' })
  }, TIMEOUT)

  test('the arm64 image holding the amd64 busybox at /bad: reported with path and layer', async () => {
    const scan = await scanElf(`${bad.image}@${bad.digest}`, 'linux/arm64', { dockerConfig })
    expect(scan.mismatches).toEqual([{ path: '/bad', layer: bad.layers.at(-1), found: 'ELF 64-bit LSB x86-64', foundPlatform: 'linux/amd64' }])
    expect(scan.skipped).toEqual([])
    expect(scan.layers).toBe(bad.layers.length)
    expect(scan.elfFiles).toBeGreaterThanOrEqual(2)
  }, TIMEOUT)

  test('a clean image: the base image for arm/v7 has no foreign binary', async () => {
    const scan = await scanElf(`${baseName}@${baseDigests['linux/arm/v7']}`, 'linux/arm/v7', { dockerConfig })
    expect([scan.mismatches, scan.skipped]).toEqual([[], []])
    expect(scan.elfFiles).toBeGreaterThanOrEqual(1)
  }, TIMEOUT)
})

describe('smoke test', () => {
  test('a command that sleeps past its timeout fails and says it timed out', async () => {
    const started = Date.now()
    const result = await smokeTest(docker, `${bad.image}@${bad.digest}`, 'linux/arm64', 'sleep 60', 3)
    expect([result.ok, result.timedOut, result.platform, result.mode]).toEqual([false, true, 'linux/arm64', 'exec'])
    expect(result.message).toMatch(/^Smoke test on linux\/arm64 timed out: `sleep 60` was still running after 3s and its container was removed/)
    expect(Date.now() - started).toBeLessThan(45_000)
    const left = await sh('docker', ['ps', '--all', '--filter', 'name=multiarch-smoke-', '--format', '{{.Names}}'], { env })
    expect(left.stdout.trim()).toBe('')
  }, TIMEOUT)

  test('under emulation the arm64 image runs as aarch64; a failing shell command reports its exit code', async () => {
    const ref = `${bad.image}@${bad.digest}`
    const passed = await smokeTest(docker, ref, 'linux/arm64', 'uname -m', 60)
    expect([passed.ok, passed.exitCode, passed.output]).toEqual([true, 0, 'aarch64'])
    const failed = await smokeTest(docker, ref, 'linux/arm64', 'echo checking; test "$(uname -m)" = x86_64', 60)
    expect([failed.ok, failed.exitCode, failed.timedOut, failed.mode]).toEqual([false, 1, false, 'shell'])
    expect(failed.message).toBe('Smoke test on linux/arm64 failed: `echo checking; test "$(uname -m)" = x86_64` exited with 1. Last output:\nchecking')
  }, TIMEOUT)
})
