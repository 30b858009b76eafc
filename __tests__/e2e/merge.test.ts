// Distributed builds against a real BuildKit and registry: legs pushed by digest, merged with
// imagetools, and a builder grown with an appended node. What was pushed is read back through
// the registry HTTP API, never through docker or buildx.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { appendArgs, firstNodePlatforms, parseAppend } from '../../src/append.js'
import { createArgs, removeBuilder } from '../../src/builder.js'
import { DockerCli } from '../../src/docker.js'
import { checkLegs, mergeRelease, pushByDigestOutput, type Leg } from '../../src/merge.js'
import { parsePlatforms } from '../../src/platforms.js'
import { retrying } from '../../src/retrying.js'
import { newDockerConfig, requireToolchain, secondAddress, tempDir, uniqueRepo, writeProject } from './helpers.js'
import * as registry from './registry.js'

const tc = requireToolchain()
if (!tc.registryNoAuth) throw new Error('CTR_REGISTRY_NOAUTH is not set: these tests push to a registry without auth')
const host = tc.registryNoAuth
const TIMEOUT = 10 * 60 * 1000
const ZERO = `sha256:${'0'.repeat(64)}`

const docker = new DockerCli()
// As main merges: with the retries of every registry call. The registry answers a 500 now and
// then when a manifest pushed a moment before is read while it still writes its links.
const merging = retrying(docker, { retries: 3, log: () => undefined })
const savedDockerConfig = process.env.DOCKER_CONFIG
let builder = ''
let project = ''

/** A leg as the registry holds it, read without the code under test. */
interface Pushed {
  repo: string
  /** What the build pushed: an index with attestations, or a bare manifest. */
  digest: string
  /** platform → image manifest. */
  images: Record<string, string>
  /** image manifest → its attestation manifest. */
  attestationOf: Record<string, string>
}

async function pushByDigest(repo: string, platforms: string[], provenance: string, names = [`${host}/${repo}`]): Promise<Pushed> {
  const metadataFile = path.join(tempDir('merge-metadata'), 'metadata.json')
  await docker.buildx(
    [
      'build', '--builder', builder, '--platform', platforms.join(','), `--provenance=${provenance}`,
      '--output', pushByDigestOutput(names), '--metadata-file', metadataFile, project
    ],
    { silent: true }
  )
  const digest = (JSON.parse(readFileSync(metadataFile, 'utf8')) as Record<string, string>)['containerimage.digest']!
  const top = await registry.manifest(host, repo, digest)
  if (!top.json.manifests) {
    if (platforms.length !== 1) throw new Error(`${repo}@${digest} is a manifest for ${platforms.join(', ')}`)
    return { repo, digest, images: { [platforms[0]!]: digest }, attestationOf: {} }
  }
  const images: Record<string, string> = {}
  const attestationOf: Record<string, string> = {}
  for (const d of top.json.manifests) {
    if (registry.isAttestation(d)) attestationOf[d.annotations!['vnd.docker.reference.digest']!] = d.digest
    else images[registry.platformOf(d)] = d.digest
  }
  return { repo, digest, images, attestationOf }
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (e: unknown) {
    return e as Error
  }
  throw new Error('expected a rejection')
}

let indexRepo = ''
let amd64: Pushed
let arm64: Pushed
let plainRepo = ''
let plainAmd64: Pushed
let plainArm64: Pushed
let bothRepo = ''
let both: Pushed

beforeAll(async () => {
  process.env.DOCKER_CONFIG = newDockerConfig()
  project = writeProject(path.join(tempDir('merge-project'), 'project'))
  builder = `mr-e2e-merge-${randomBytes(3).toString('hex')}`
  // BuildKit in a container reaches the loopback registry only on the host network.
  await docker.buildx(['create', '--name', builder, '--driver', 'docker-container', '--driver-opt', 'network=host', '--bootstrap'], { silent: true })
  indexRepo = uniqueRepo('merge-index')
  plainRepo = uniqueRepo('merge-plain')
  bothRepo = uniqueRepo('merge-both')
  ;[amd64, arm64, plainAmd64, plainArm64, both] = await Promise.all([
    pushByDigest(indexRepo, ['linux/amd64'], 'mode=min'),
    pushByDigest(indexRepo, ['linux/arm64'], 'mode=min'),
    pushByDigest(plainRepo, ['linux/amd64'], 'false'),
    pushByDigest(plainRepo, ['linux/arm64'], 'false'),
    pushByDigest(bothRepo, ['linux/amd64', 'linux/arm64'], 'mode=min')
  ])
}, TIMEOUT)

afterAll(async () => {
  if (builder) await removeBuilder(docker, builder)
  if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG
  else process.env.DOCKER_CONFIG = savedDockerConfig
}, 120_000)

describe('legs pushed by digest', () => {
  test('a leg with provenance is an index of its image and its attestation; without, a bare manifest', async () => {
    for (const [leg, platform] of [[amd64, 'linux/amd64'], [arm64, 'linux/arm64']] as const) {
      expect(Object.keys(leg.images)).toEqual([platform])
      expect(Object.keys(leg.attestationOf)).toEqual([leg.images[platform]])
      expect(await registry.imageConfigPlatform(host, indexRepo, leg.images[platform]!)).toBe(platform)
    }
    expect(plainAmd64.images).toEqual({ 'linux/amd64': plainAmd64.digest })
    expect((await registry.manifest(host, plainRepo, plainAmd64.digest)).mediaType).toBe(registry.MediaType.dockerManifest)
    // Pushed by digest only: no tag anywhere.
    for (const repo of [indexRepo, plainRepo, bothRepo]) expect(await registry.tags(host, repo)).toEqual([])
  })

  test('with two images, one push by digest reaches both repositories', async () => {
    const first = uniqueRepo('merge-two-a')
    const second = uniqueRepo('merge-two-b')
    const leg = await pushByDigest(first, ['linux/arm64'], 'false', [`${host}/${first}`, `${host}/${second}`])
    expect(await registry.exists(host, first, leg.digest)).toBe(true)
    expect(await registry.exists(host, second, leg.digest)).toBe(true)
    expect(await registry.imageConfigPlatform(host, second, leg.digest)).toBe('linux/arm64')
    expect(await registry.tags(host, second)).toEqual([])
  }, TIMEOUT)
})

describe('checkLegs', () => {
  test('finds the image and the attestation of each index leg', async () => {
    const legs = await checkLegs(docker, `${host}/${indexRepo}`, { 'linux/amd64': amd64.digest, 'linux/arm64': arm64.digest })
    expect(legs).toEqual<Leg[]>([
      { platform: 'linux/amd64', digest: amd64.digest, manifest: amd64.images['linux/amd64']!, attestations: [amd64.attestationOf[amd64.images['linux/amd64']!]!] },
      { platform: 'linux/arm64', digest: arm64.digest, manifest: arm64.images['linux/arm64']!, attestations: [arm64.attestationOf[arm64.images['linux/arm64']!]!] }
    ])
  })

  test('takes image manifest digests as they are', async () => {
    const legs = await checkLegs(docker, `${host}/${indexRepo}`, { 'linux/arm64': arm64.images['linux/arm64']! })
    expect(legs).toEqual<Leg[]>([{ platform: 'linux/arm64', digest: arm64.images['linux/arm64']!, manifest: arm64.images['linux/arm64']!, attestations: [] }])
  })

  test('a digest that does not exist fails naming it', async () => {
    const image = `${host}/${indexRepo}`
    const e = await rejection(checkLegs(docker, image, { 'linux/amd64': amd64.digest, 'linux/arm64': ZERO }))
    expect(e.message).toBe(`Cannot merge into ${image}:\n- linux/arm64: ${ZERO} does not exist in ${image}`)
  })

  test('an amd64 image named as linux/arm64 fails naming both platforms', async () => {
    const image = `${host}/${plainRepo}`
    const e = await rejection(checkLegs(docker, image, { 'linux/amd64': plainAmd64.digest, 'linux/arm64': plainAmd64.digest }))
    expect(e.message).toBe(
      `Cannot merge into ${image}:\n- linux/amd64, linux/arm64: ${plainAmd64.digest} is a single image manifest, so it cannot be the image of 2 platforms`
    )
    const swapped = await rejection(checkLegs(docker, image, { 'linux/arm64': plainAmd64.digest, 'linux/amd64': plainArm64.digest }))
    expect(swapped.message).toBe(
      `Cannot merge into ${image}:\n` +
        `- linux/arm64: ${plainAmd64.digest} is an image for linux/amd64, not linux/arm64\n` +
        `- linux/amd64: ${plainArm64.digest} is an image for linux/arm64, not linux/amd64`
    )
  })

  test('an amd64 index named as linux/arm64 fails naming both platforms', async () => {
    const image = `${host}/${indexRepo}`
    const e = await rejection(checkLegs(docker, image, { 'linux/arm64': amd64.digest }))
    expect(e.message).toBe(`Cannot merge into ${image}:\n- linux/arm64: ${amd64.digest} is an index of linux/amd64, not of linux/arm64`)
  })

  test('an index named for only one of its platforms fails, since the others would come along', async () => {
    const image = `${host}/${bothRepo}`
    const e = await rejection(checkLegs(docker, image, { 'linux/amd64': both.digest }))
    expect(e.message).toBe(
      `Cannot merge into ${image}:\n- linux/amd64: ${both.digest} is an index of linux/amd64, linux/arm64; ` +
        'name it for each of its platforms, or give the image manifest digest of linux/amd64'
    )
  })

  test('an attestation manifest is no image of any platform', async () => {
    const image = `${host}/${indexRepo}`
    const attestation = amd64.attestationOf[amd64.images['linux/amd64']!]!
    const e = await rejection(checkLegs(docker, image, { 'linux/amd64': attestation }))
    expect(e.message).toBe(`Cannot merge into ${image}:\n- linux/amd64: ${attestation} is an image for unknown/unknown, not linux/amd64`)
  })
})

describe('mergeRelease', () => {
  test('pushes one index under both tags holding the legs\' images and their attestations', async () => {
    const image = `${host}/${indexRepo}`
    const result = await mergeRelease(merging, {
      images: [image],
      refs: [`${image}:1.2.3`, `${image}:latest`],
      digests: { 'linux/amd64': amd64.digest, 'linux/arm64': arm64.digest },
      annotations: ['index:org.opencontainers.image.version=1.2.3', 'index:org.opencontainers.image.description=merged, by digest']
    })
    const amd64Image = amd64.images['linux/amd64']!
    const arm64Image = arm64.images['linux/arm64']!
    expect(result).toEqual({ digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), digests: { 'linux/amd64': amd64Image, 'linux/arm64': arm64Image }, warnings: [] })

    expect(await registry.tags(host, indexRepo)).toEqual(['1.2.3', 'latest'])
    for (const tag of ['1.2.3', 'latest']) expect({ tag, digest: (await registry.manifest(host, indexRepo, tag)).digest }).toEqual({ tag, digest: result.digest })
    const index = await registry.manifest(host, indexRepo, result.digest)
    expect(index.mediaType).toBe(registry.MediaType.ociIndex)
    expect(index.json.annotations).toEqual({
      'org.opencontainers.image.version': '1.2.3',
      'org.opencontainers.image.description': 'merged, by digest'
    })
    expect(registry.indexEntries(index)).toEqual<registry.IndexEntry[]>([
      { digest: amd64Image, platform: 'linux/amd64' },
      { digest: amd64.attestationOf[amd64Image]!, platform: 'unknown/unknown', attestationOf: amd64Image },
      { digest: arm64Image, platform: 'linux/arm64' },
      { digest: arm64.attestationOf[arm64Image]!, platform: 'unknown/unknown', attestationOf: arm64Image }
    ])
    expect(await registry.imageConfigPlatform(host, indexRepo, amd64Image)).toBe('linux/amd64')
    expect(await registry.imageConfigPlatform(host, indexRepo, arm64Image)).toBe('linux/arm64')
  }, TIMEOUT)

  test('merges bare manifests into a Docker manifest list, and says the annotations could not go in', async () => {
    const image = `${host}/${plainRepo}`
    const result = await mergeRelease(merging, {
      images: [image],
      refs: [`${image}:2.0.0`],
      digests: { 'linux/arm64': plainArm64.digest, 'linux/amd64': plainAmd64.digest },
      annotations: ['index:org.opencontainers.image.version=2.0.0']
    })
    expect(result.digests).toEqual({ 'linux/arm64': plainArm64.digest, 'linux/amd64': plainAmd64.digest })
    expect(result.warnings).toEqual([
      'every leg is a Docker image manifest (built with provenance off), so buildx wrote a Docker manifest list, ' +
        'which has no annotations: the index annotations were left out'
    ])
    const list = await registry.manifest(host, plainRepo, '2.0.0')
    expect(list.digest).toBe(result.digest)
    expect(list.mediaType).toBe(registry.MediaType.dockerList)
    expect(registry.indexEntries(list)).toEqual<registry.IndexEntry[]>([
      { digest: plainArm64.digest, platform: 'linux/arm64' },
      { digest: plainAmd64.digest, platform: 'linux/amd64' }
    ])
  }, TIMEOUT)

  test('takes one index named for both its platforms, and copies the index to the tags of a second image', async () => {
    const image = `${host}/${bothRepo}`
    const otherRepo = uniqueRepo('merge-copy')
    const result = await mergeRelease(merging, {
      images: [image, `${host}/${otherRepo}`],
      refs: [`${image}:3`, `${host}/${otherRepo}:3`],
      digests: { 'linux/amd64': both.digest, 'linux/arm64': both.digest },
      annotations: []
    })
    expect(result.digests).toEqual({ 'linux/amd64': both.images['linux/amd64'], 'linux/arm64': both.images['linux/arm64'] })
    for (const repo of [bothRepo, otherRepo]) {
      const index = await registry.manifest(host, repo, '3')
      expect({ repo, digest: index.digest }).toEqual({ repo, digest: result.digest })
      expect(registry.indexEntries(index).filter(e => e.attestationOf === undefined)).toEqual<registry.IndexEntry[]>([
        { digest: both.images['linux/amd64']!, platform: 'linux/amd64' },
        { digest: both.images['linux/arm64']!, platform: 'linux/arm64' }
      ])
      expect(registry.indexEntries(index).filter(e => e.attestationOf !== undefined).map(e => e.attestationOf).sort()).toEqual(Object.values(both.images).sort())
    }
    expect(await registry.imageConfigPlatform(host, otherRepo, both.images['linux/arm64']!)).toBe('linux/arm64')
  }, TIMEOUT)

  test('a missing leg fails before anything is pushed', async () => {
    const image = `${host}/${indexRepo}`
    const e = await rejection(
      mergeRelease(docker, {
        images: [image],
        refs: [`${image}:9.9.9`],
        digests: { 'linux/amd64': ZERO, 'linux/arm64': arm64.digest },
        annotations: []
      })
    )
    expect(e.message).toBe(`Cannot merge into ${image}:\n- linux/amd64: ${ZERO} does not exist in ${image}`)
    expect(await registry.exists(host, indexRepo, '9.9.9')).toBe(false)
  }, TIMEOUT)
})

describe('append', () => {
  test('a remote builder with an appended node builds each platform on its own node and pushes one index', async () => {
    const addr = process.env.CTR_BUILDKITD_ADDR
    if (!addr) throw new Error('CTR_BUILDKITD_ADDR is not set: the append test needs a BuildKit daemon for the remote driver')
    const platforms = parsePlatforms(['linux/amd64', 'linux/arm64'])
    const alias = secondAddress(addr)
    const nodes = parseAppend(`- {name: host, endpoint: "${alias}", platforms: linux/arm64}`)
    const name = `mr-e2e-append-${randomBytes(3).toString('hex')}`
    const repo = uniqueRepo('append')
    try {
      await docker.buildx(
        createArgs({ name, driver: 'remote', driverOpts: [], endpoint: addr, configFile: '', platforms: firstNodePlatforms(platforms, nodes).map(p => `${p.os}/${p.architecture}`) }),
        { silent: true }
      )
      for (const node of nodes) await docker.buildx(appendArgs(name, node), { silent: true })

      const inspect = (await docker.buildx(['inspect', name], { silent: true })).stdout
      const pinned = [...inspect.matchAll(/^Name:\s+(\S+)\nEndpoint:\s+(\S+)[\s\S]*?^Platforms:\s+([^,\n]+)/gm)].map(m => [m[1], m[2], m[3]])
      expect(pinned).toEqual([
        [`${name}0`, addr, 'linux/amd64*'],
        ['host', alias, 'linux/arm64*']
      ])

      const build = await docker.buildx(
        ['build', '--builder', name, '--platform', 'linux/amd64,linux/arm64', '--tag', `${host}/${repo}:1`, '--push', project],
        { silent: true }
      )
      // A build split over nodes pushes one result per node and then merges them.
      expect(build.stderr).toContain(`merging manifest list ${host}/${repo}:1`)
      const index = await registry.manifest(host, repo, '1')
      const images = (index.json.manifests ?? []).filter(d => !registry.isAttestation(d))
      expect(images.map(registry.platformOf)).toEqual(['linux/amd64', 'linux/arm64'])
      for (const d of images) expect(await registry.imageConfigPlatform(host, repo, d.digest)).toBe(registry.platformOf(d))
    } finally {
      await removeBuilder(docker, name)
    }
    expect((await docker.buildx(['ls'], { silent: true })).stdout).not.toContain(name)
  }, TIMEOUT)
})
