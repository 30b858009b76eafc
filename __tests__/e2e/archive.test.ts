// writeArchives against a real engine, BuildKit and registry: the archives must load into the
// engine and run as their platform, and must be the very images the main build pushed.
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { sh } from '../../scripts/harness.js'
import { compressionSupported, writeArchives, type ArchiveResult } from '../../src/archive.js'
import { build, type BuildPlan } from '../../src/build.js'
import { createBuilder, removeBuilder } from '../../src/builder.js'
import { DockerCli, type Docker, type ExecResult, type RunOptions } from '../../src/docker.js'
import { newDockerConfig, requireToolchain, tempDir, uniqueRepo, writeProject } from './helpers.js'
import * as registry from './registry.js'
import { emptyPlan } from '../fixtures/plan.js'

const tc = requireToolchain()
const TIMEOUT = 10 * 60 * 1000
const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7']
const UNAME: Record<string, string> = { 'linux/amd64': 'x86_64', 'linux/arm64': 'aarch64', 'linux/arm/v7': 'armv7l' }

/**
 * Jest gives the test a copy of process.env, which a child spawned without an explicit env
 * does not see: every call names this test's DOCKER_CONFIG itself.
 */
class ConfiguredDocker implements Docker {
  private readonly cli = new DockerCli()
  constructor(private readonly env: Record<string, string>) {}
  run(args: string[], options: RunOptions = {}): Promise<ExecResult> {
    return this.cli.run(args, { ...options, env: { ...this.env, ...options.env } })
  }
  buildx(args: string[], options: RunOptions = {}): Promise<ExecResult> {
    return this.cli.buildx(args, { ...options, env: { ...this.env, ...options.env } })
  }
}

const dockerConfig = newDockerConfig()
const docker = new ConfiguredDocker({ DOCKER_CONFIG: dockerConfig })
const builderName = `archive-e2e-${randomBytes(4).toString('hex')}`
const repo = uniqueRepo('archive')
const image = `${tc.registryNoAuth}/${repo}`
const refs = [`${image}:1.2.3`, `${image}:latest`]
const work = tempDir('archive')
let savedDockerConfig: string | undefined
let plan: BuildPlan
/** platform → the image manifest the main build pushed. */
const pushed: Record<string, registry.Manifest> = {}

beforeAll(async () => {
  savedDockerConfig = process.env.DOCKER_CONFIG
  process.env.DOCKER_CONFIG = dockerConfig
  await createBuilder(docker, {
    name: builderName,
    driver: 'docker-container',
    driverOpts: ['network=host'],
    endpoint: '',
    configFile: '',
    platforms: []
  })
  const context = writeProject(path.join(work, 'project'))
  plan = emptyPlan({
    builder: builderName,
    context,
    file: path.join(context, 'Dockerfile'),
    platforms: PLATFORMS,
    tags: refs,
    labels: ['org.opencontainers.image.version=1.2.3'],
    annotations: ['index:org.opencontainers.image.description=archive e2e'],
    push: true,
    metadataFile: path.join(work, 'metadata.json')
  })
  await build(docker, plan)
  const digest = (JSON.parse(readFileSync(plan.metadataFile, 'utf8')) as Record<string, string>)['containerimage.digest']
  const index = await registry.manifest(tc.registryNoAuth, repo, digest)
  for (const d of index.json.manifests ?? []) {
    if (!registry.isAttestation(d)) pushed[registry.platformOf(d)] = await registry.manifest(tc.registryNoAuth, repo, d.digest)
  }
  expect(Object.keys(pushed).sort()).toEqual([...PLATFORMS].sort())
}, TIMEOUT)

afterAll(async () => {
  await removeImages()
  if (plan) await removeBuilder(docker, builderName)
  if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG
  else process.env.DOCKER_CONFIG = savedDockerConfig
}, 120_000)

async function removeImages(): Promise<void> {
  await sh('docker', ['image', 'rm', ...refs], { allowFailure: true })
}

async function tagsExist(): Promise<boolean[]> {
  return Promise.all(refs.map(async ref => (await sh('docker', ['image', 'inspect', ref], { allowFailure: true })).exitCode === 0))
}

function names(result: ArchiveResult): string[] {
  return Object.values(result.archives).map(f => path.basename(f))
}

async function sha256sumCheck(dir: string): Promise<string> {
  const r = await sh('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir, allowFailure: true })
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: '' })
  return r.stdout
}

/** Loads the archive into the engine with none of its tags present before, and runs it. */
async function loadAndRun(file: string, platform: string): Promise<{ loaded: string[]; uname: string }> {
  await removeImages()
  expect(await tagsExist()).toEqual([false, false])
  const load = await sh('docker', ['load', '-i', file])
  const loaded = [...load.stdout.matchAll(/^Loaded image: (\S+)$/gm)].map(m => m[1]).sort()
  const run = await sh('docker', ['run', '--rm', '--platform', platform, refs[0]])
  return { loaded, uname: run.stdout.trim() }
}

async function untar(file: string, dest: string): Promise<string> {
  mkdirSync(dest, { recursive: true })
  await sh('tar', ['-xf', file, '-C', dest])
  return dest
}

function sha256Hex(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

interface OciIndex {
  manifests: Array<{ mediaType: string; digest: string; annotations?: Record<string, string>; platform?: { os: string; architecture: string; variant?: string } }>
}

describe('writeArchives on a docker-container builder', () => {
  test(
    'docker format: one archive per platform from the cache, SHA256SUMS checks, each loads and runs as its platform',
    async () => {
      const dir = path.join(work, 'docker')
      const result = await writeArchives(docker, plan, dir, { image, version: '1.2.3', format: 'docker', compression: 'none' })
      const expectedNames = ['linux-amd64', 'linux-arm64', 'linux-arm-v7'].map(p => `${image.replace(/[/:]/g, '_')}_1.2.3_${p}.tar`)
      expect(Object.keys(result.archives)).toEqual(PLATFORMS)
      expect(names(result)).toEqual(expectedNames)
      expect(readdirSync(dir).sort()).toEqual(['SHA256SUMS', ...expectedNames].sort())
      expect(result.rebuilt).toEqual({ 'linux/amd64': [], 'linux/arm64': [], 'linux/arm/v7': [] })
      expect(result.exportMs).toBeGreaterThan(0)
      expect(await sha256sumCheck(dir)).toBe(expectedNames.map(n => `${n}: OK\n`).join(''))

      for (const platform of PLATFORMS) {
        const file = result.archives[platform]
        // The image config is the pushed one: same build, only the manifest media type differs.
        const layout = await untar(file, path.join(work, 'docker-untar', platform.replace(/\//g, '-')))
        const manifest = JSON.parse(readFileSync(path.join(layout, 'manifest.json'), 'utf8')) as Array<{ Config: string; RepoTags: string[] }>
        expect(manifest.map(m => ({ config: m.Config, tags: [...m.RepoTags].sort() }))).toEqual([
          { config: `blobs/sha256/${pushed[platform].json.config!.digest.slice('sha256:'.length)}`, tags: [...refs].sort() }
        ])
        expect({ platform, ...(await loadAndRun(file, platform)) }).toEqual({ platform, loaded: [...refs].sort(), uname: UNAME[platform] })
      }
    },
    TIMEOUT
  )

  test(
    'oci format: a valid OCI layout per platform holding the manifest the main build pushed',
    async () => {
      const dir = path.join(work, 'oci')
      const result = await writeArchives(docker, plan, dir, { image, version: '1.2.3', format: 'oci', compression: 'none' })
      expect(result.rebuilt).toEqual({ 'linux/amd64': [], 'linux/arm64': [], 'linux/arm/v7': [] })
      await sha256sumCheck(dir)
      for (const platform of PLATFORMS) {
        const layout = await untar(result.archives[platform], path.join(work, 'oci-untar', platform.replace(/\//g, '-')))
        expect(JSON.parse(readFileSync(path.join(layout, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' })
        const blobDir = path.join(layout, 'blobs', 'sha256')
        const blobs = readdirSync(blobDir)
        expect(blobs.length).toBeGreaterThanOrEqual(3)
        for (const blob of blobs) expect({ blob, sha256: sha256Hex(path.join(blobDir, blob)) }).toEqual({ blob, sha256: blob })

        const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as OciIndex
        expect(index.manifests.map(m => m.annotations?.['io.containerd.image.name']).sort()).toEqual([...refs].sort())
        for (const m of index.manifests) {
          expect({ platform, digest: m.digest, mediaType: m.mediaType }).toEqual({
            platform,
            digest: pushed[platform].digest,
            mediaType: registry.MediaType.ociManifest
          })
          expect(existsSync(path.join(blobDir, m.digest.slice('sha256:'.length)))).toBe(true)
        }
        expect(result.digests[platform]).toBe(pushed[platform].digest)
      }
    },
    TIMEOUT
  )

  test(
    'gzip: a .tar.gz around the pushed layers, which docker load reads',
    async () => {
      const dir = path.join(work, 'gzip')
      const result = await writeArchives(docker, plan, dir, { image, version: '1.2.3', format: 'docker', compression: 'gzip', concurrency: 3 })
      expect(result.rebuilt).toEqual({ 'linux/amd64': [], 'linux/arm64': [], 'linux/arm/v7': [] })
      expect(readdirSync(dir).filter(f => !f.endsWith('.tar.gz')).sort()).toEqual(['SHA256SUMS'])
      await sha256sumCheck(dir)
      const file = result.archives['linux/arm64']
      expect(file.endsWith('_1.2.3_linux-arm64.tar.gz')).toBe(true)
      expect(readFileSync(file).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]))
      const layout = path.join(work, 'gzip-untar')
      mkdirSync(layout, { recursive: true })
      await sh('sh', ['-c', 'gzip -dc "$0" | tar -x -C "$1"', file, layout])
      const [manifest] = JSON.parse(readFileSync(path.join(layout, 'manifest.json'), 'utf8')) as Array<{ Config: string; Layers: string[] }>
      expect(manifest.Config).toBe(`blobs/sha256/${pushed['linux/arm64'].json.config!.digest.slice('sha256:'.length)}`)
      // The layers are the registry's gzip blobs, untouched: the tar around them is what is compressed.
      expect(manifest.Layers).toEqual(pushed['linux/arm64'].json.layers!.map(l => `blobs/sha256/${l.digest.slice('sha256:'.length)}`))
      for (const layer of manifest.Layers) expect({ layer, gzip: readFileSync(path.join(layout, layer)).subarray(0, 2).toString('hex') }).toEqual({ layer, gzip: '1f8b' })
      expect(await loadAndRun(file, 'linux/arm64')).toEqual({ loaded: [...refs].sort(), uname: 'aarch64' })
    },
    TIMEOUT
  )

  const zstdTest = compressionSupported('zstd') ? test : test.skip
  zstdTest(
    'zstd: a .tar.zst docker load reads (needs Node.js 22.15 or later)',
    async () => {
      const dir = path.join(work, 'zstd')
      const result = await writeArchives(docker, plan, dir, { image, version: '1.2.3', format: 'docker', compression: 'zstd' })
      await sha256sumCheck(dir)
      expect(await loadAndRun(result.archives['linux/arm/v7'], 'linux/arm/v7')).toEqual({ loaded: [...refs].sort(), uname: 'armv7l' })
    },
    TIMEOUT
  )

  test(
    'push: false: the archives come from the cache of a build that exported nothing',
    async () => {
      const context = writeProject(path.join(work, 'local'), [
        `FROM ${tc.baseImage}`,
        `RUN echo ${randomBytes(6).toString('hex')} > /nonce && uname -m > /arch`,
        'CMD ["cat", "/arch"]',
        ''
      ].join('\n'))
      const local: BuildPlan = {
        ...plan,
        context,
        file: path.join(context, 'Dockerfile'),
        platforms: ['linux/amd64', 'linux/arm/v7'],
        push: false,
        metadataFile: path.join(work, 'local-metadata.json')
      }
      await build(docker, local)
      const dir = path.join(work, 'local-out')
      const result = await writeArchives(docker, local, dir, { image, version: '1.2.3', format: 'docker', compression: 'none' })
      expect(result.rebuilt).toEqual({ 'linux/amd64': [], 'linux/arm/v7': [] })
      await sha256sumCheck(dir)
      expect(await loadAndRun(result.archives['linux/arm/v7'], 'linux/arm/v7')).toEqual({ loaded: [...refs].sort(), uname: 'armv7l' })
    },
    TIMEOUT
  )

  test(
    'an archive directory inside the build context changes no export\'s context',
    async () => {
      const context = writeProject(path.join(work, 'inside'), [
        `FROM ${tc.baseImage}`,
        'COPY . /app',
        `RUN echo ${randomBytes(6).toString('hex')} > /nonce && uname -m > /arch`,
        'CMD ["cat", "/arch"]',
        ''
      ].join('\n'))
      const inside: BuildPlan = { ...plan, context, file: path.join(context, 'Dockerfile'), push: false, metadataFile: path.join(work, 'inside-metadata.json') }
      await build(docker, inside)
      const dir = path.join(context, 'dist', 'images')
      const result = await writeArchives(docker, inside, dir, { image, version: '1.2.3', format: 'docker', compression: 'none', concurrency: 1 })
      expect(result.rebuilt).toEqual({ 'linux/amd64': [], 'linux/arm64': [], 'linux/arm/v7': [] })
      await sha256sumCheck(dir)
    },
    TIMEOUT
  )

  test(
    'an export that cannot come from the cache names the steps it ran',
    async () => {
      const context = writeProject(path.join(work, 'changed'), [
        `FROM ${tc.baseImage}`,
        `RUN echo ${randomBytes(6).toString('hex')} > /nonce`,
        'CMD ["cat", "/nonce"]',
        ''
      ].join('\n'))
      const changed: BuildPlan = { ...plan, context, file: path.join(context, 'Dockerfile'), platforms: ['linux/amd64'] }
      const result = await writeArchives(docker, changed, path.join(work, 'changed-out'), { image, version: '1.2.3', format: 'docker', compression: 'none' })
      expect(result.rebuilt['linux/amd64']).toHaveLength(1)
      expect(result.rebuilt['linux/amd64'][0]).toMatch(/^\[2\/2\] RUN echo [0-9a-f]{12} > \/nonce$/)
    },
    TIMEOUT
  )
})
